#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| facenet_wasm_fuzz::core::decode(data));
