//! Moments typed in a `datetime-local` field read back as typed, in the
//! browser's own time zone, and what is no moment reads as none.

use wasm_bindgen_test::wasm_bindgen_test;
use web_common::show::{from_local_input, local_input};

#[wasm_bindgen_test]
fn a_moment_typed_reads_back_as_typed() {
    for typed in ["2026-12-03T10:30", "1999-01-01T00:00", "2028-02-29T23:59"] {
        let ms = from_local_input(typed).unwrap_or_else(|| panic!("{typed}"));
        assert_eq!(local_input(ms), typed);
    }
    let with_seconds = from_local_input("2026-12-03T10:30:15").unwrap();
    assert_eq!(
        with_seconds - from_local_input("2026-12-03T10:30").unwrap(),
        15_000
    );
}

#[wasm_bindgen_test]
fn what_is_no_moment_reads_as_none() {
    for typed in [
        "",
        "2026-12-03",
        "2026-02-31T10:00",
        "2026-13-01T10:00",
        "2026-12-03T24:00",
        "0000-01-01T00:00",
        "0099-01-01T00:00",
        "abcd-ef-ghTij:kl",
        "2026-12-03T10",
    ] {
        assert_eq!(from_local_input(typed), None, "{typed}");
    }
}
