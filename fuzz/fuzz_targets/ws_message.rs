//! The WebSocket client message parser: every frame parses or yields an error message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tradeassist_server::ws::messages::parse(text);
    }
});
