//! Compile-fail cases: each unsupported construct is a clear error at its own span.
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test --test ui` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
