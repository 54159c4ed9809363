#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| calo4p_fuzz::targets::model_json(data));
