//! Replays the saved inputs of the `render_document` fuzz target on stable Rust, and
//! runs its check on the sample documents under every selector.

#[path = "../../../fuzz/src/render.rs"]
mod fuzz_render;

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn render_document_inputs_render_within_limits() {
    let fuzz = replay::fuzz_dir(env!("CARGO_MANIFEST_DIR"));
    replay::replay_all(&fuzz, "render_document", fuzz_render::check_render);
}

#[test]
fn sample_documents_pass_the_fuzz_check_under_every_selector() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/docs");
    for name in ["chinese-gbk.txt", "english-utf8-ff.txt"] {
        let data = std::fs::read(docs.join(name)).expect("sample document");
        for selector in 0u8..16 {
            let mut input = vec![selector];
            input.extend_from_slice(&data);
            fuzz_render::check_render(&input);
        }
    }
}
