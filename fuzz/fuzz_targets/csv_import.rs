//! The CSV importer on arbitrary bytes: every input parses or is refused with an error, in
//! bounded memory; the first byte picks the options (symbol given, daily, skip invalid rows).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tradeassist_model::Resolution;
use tradeassist_providers::file::{CsvOptions, CsvReader};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let opts = CsvOptions {
        symbol: (flags & 1 != 0).then(|| "FZ".to_string()),
        resolution: (flags & 2 != 0).then_some(Resolution::Day),
        skip_invalid: flags & 4 != 0,
        override_symbol: flags & 9 == 9,
        ..Default::default()
    };
    let Ok(mut reader) = CsvReader::new(body, &opts) else {
        return;
    };
    for _ in 0..64 {
        match reader.next_chunk(1 + usize::from(flags >> 4)) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
