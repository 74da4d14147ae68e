//! The fetch request in both wire forms: the JSON document (as `POST fetch` reads it) and the
//! query-string text form (`GET fetch`). Each parses or is refused; a parsed query's text form
//! parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeassist_server::api::dto::FetchRequestDto;
use tradeassist_service::Query;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<FetchRequestDto>(data) {
        let _ = doc.into_query();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(q) = text.parse::<Query>()
    {
        let again: Query = q.to_string().parse().expect("a query's text form parses");
        assert_eq!(again, q, "{text:?}");
    }
});
