//! Option enums with one name table each: a string round-trip (`FromStr` / `Display`) and an
//! error that lists the accepted names.
//!
//! Every option a request can carry as a word (session filter, roll rule, adjustment, ...) is
//! declared with [`named_options!`](crate::named_options): the invocation is the only place
//! its names are written. Parsing trims the input and ignores ASCII case; besides the
//! canonical names a few older spellings (aliases) are accepted, but `Display` always writes
//! the canonical name, so `parse(x.to_string()) == x`.
//!
//! ```
//! use tradeassist_model::{OptionError, SessionFilter};
//!
//! assert_eq!(" Extended ".parse::<SessionFilter>(), Ok(SessionFilter::Extended));
//! assert_eq!(SessionFilter::Extended.to_string(), "extended");
//! let e: OptionError = "night".parse::<SessionFilter>().unwrap_err();
//! assert_eq!(e.to_string(), "`night` is not one of regular, extended, all");
//! ```

/// A word that is none of an option's names.
///
/// `Display` is `` `value` is not one of a, b, c `` (the canonical names, in table order);
/// the caller names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of {}", .accepted.join(", "))]
pub struct OptionError {
    /// What was being parsed, e.g. `session filter`.
    pub what: &'static str,
    /// The input as given.
    pub value: String,
    /// The canonical names, in table order.
    pub accepted: Vec<&'static str>,
}

/// Find `s` (trimmed, ASCII case ignored) among `names` then `aliases`.
#[doc(hidden)]
pub fn parse_name<T: Copy>(
    what: &'static str,
    s: &str,
    names: &[(&'static str, T)],
    aliases: &[(&'static str, T)],
) -> Result<T, OptionError> {
    let t = s.trim();
    names
        .iter()
        .chain(aliases)
        .find(|(n, _)| n.eq_ignore_ascii_case(t))
        .map(|(_, v)| *v)
        .ok_or_else(|| OptionError {
            what,
            value: s.to_string(),
            accepted: names.iter().map(|(n, _)| *n).collect(),
        })
}

/// Declare the name table of a field-less option enum defined next to it, generating
/// `ALL`, `NAMES`, `as_str`, `Display` and `FromStr` (error [`OptionError`]).
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// pub enum Side { Buy, Sell }
/// tradeassist_model::named_options!(Side, "side", [Buy = "buy", Sell = "sell"], aliases ["b" => Buy]);
///
/// assert_eq!("B".parse::<Side>().unwrap(), Side::Buy);
/// assert_eq!(Side::Sell.to_string(), "sell");
/// assert_eq!(Side::ALL, [Side::Buy, Side::Sell]);
/// ```
#[macro_export]
macro_rules! named_options {
    ($ty:ident, $what:literal, [$($variant:ident = $name:literal),+ $(,)?]
        $(, aliases [$($alias:literal => $avariant:ident),* $(,)?])? $(,)?) => {
        impl $ty {
            /// Every value, in the order of the name table.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];
            /// `(canonical name, value)`, the one name table of this option.
            pub const NAMES: [(&'static str, $ty); [$($name),+].len()] = [$(($name, $ty::$variant)),+];
            /// Older spellings that still parse (never written).
            pub const ALIASES: &'static [(&'static str, $ty)] = &[$($(($alias, $ty::$avariant)),*)?];

            /// The canonical name (what `Display` writes and `FromStr` reads back).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::OptionError;
            /// A canonical name or an alias; surrounding spaces and ASCII case are ignored.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::names::parse_name($what, s, &$ty::NAMES, $ty::ALIASES)
            }
        }
    };
}

#[cfg(test)]
mod tests {

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fruit {
        Apple,
        Pear,
    }
    crate::named_options!(Fruit, "fruit", [Apple = "apple", Pear = "pear"], aliases ["malus" => Apple]);

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for f in Fruit::ALL {
            assert_eq!(f.to_string().parse::<Fruit>(), Ok(f));
        }
        assert_eq!(" MALUS".parse::<Fruit>(), Ok(Fruit::Apple));
        assert_eq!(Fruit::Apple.to_string(), "apple");
    }

    #[test]
    fn unknown_names_list_the_canonical_ones() {
        let e = "plum".parse::<Fruit>().unwrap_err();
        assert_eq!(e.to_string(), "`plum` is not one of apple, pear");
        assert_eq!(e.what, "fruit");
    }
}
