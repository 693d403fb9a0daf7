//! Tests of `read_last_n_lines`: the spec's examples, its preconditions and read errors, and the backward
//! scan against the spec's whole-file definition.

use super::*;
use std::io::Write;

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(bytes).expect("write");
    file
}

fn named(file: &tempfile::NamedTempFile) -> NamedPath {
    NamedPath::from(file.path().to_str().unwrap_or_default())
}

fn last_lines(bytes: &[u8], n: i64, errors: DecodeErrors) -> Result<Vec<String>, SkyError> {
    let file = file_with(bytes);
    read_last_n_lines(&named(&file), n, 3, Encoding::Utf8, errors)
}

#[test]
fn read_last_n_lines_spec_examples() {
    let five = b"line1\nline2\nline3\nline4\nline5\n";
    let cases: [(&[u8], i64, &[&str]); 10] = [
        (five, 2, &["line4\n", "line5"]),
        (five, 10, &["line1\n", "line2\n", "line3\n", "line4\n", "line5"]),
        (b"line1\nline2\nline3\nline4\nline5", 3, &["line3\n", "line4\n", "line5"]),
        (b"a\r\nb\r\nc\r\n", 2, &["b\n", "c"]),
        (b"a\r\r\nb\r", 3, &["a\n", "b"]),
        (b"a\rb\nc", 3, &["a\rb\n", "c"]),
        (b"\n", 1, &[""]),
        (b"\n\n\n", 2, &["\n", ""]),
        (b"", 3, &[]),
        (b"ok\n\xff\xfeabc\n\xe2\x82\n", 3, &["ok\n", "\u{fffd}\u{fffd}abc\n", "\u{fffd}"]),
    ];
    for (bytes, n, expected) in cases {
        assert_eq!(
            last_lines(bytes, n, DecodeErrors::Replace),
            Ok(expected.iter().map(|s| s.to_string()).collect())
        );
    }
    let invalid = b"ok\n\xff\xfeabc\n\xe2\x82\n";
    assert_eq!(last_lines(invalid, 2, DecodeErrors::Ignore), Ok(vec!["abc\n".to_string(), String::new()]));
    assert!(matches!(last_lines(invalid, 2, DecodeErrors::Strict), Err(SkyError::UnicodeDecode { .. })));
    assert_eq!(last_lines(five, 0, DecodeErrors::Replace), Ok(vec![]));
}

#[test]
fn read_last_n_lines_preconditions_and_read_errors() {
    let missing = NamedPath::from("/nonexistent/file");
    let call =
        |path: &NamedPath, n, chunk| read_last_n_lines(path, n, chunk, Encoding::Utf8, DecodeErrors::Replace);
    assert_eq!(call(&missing, -1, 0), Err(SkyError::Assertion("n must be non-negative. Got -1".into())));
    assert_eq!(call(&missing, 1, 0), Err(SkyError::Assertion("chunk_size must be positive. Got 0".into())));
    assert_eq!(call(&missing, 1, 1), Err(SkyError::Assertion("File not found: /nonexistent/file".into())));
    let directory = tempfile::tempdir().expect("temp dir");
    let named = NamedPath { path: directory.path().to_path_buf(), shown_as: "files".into() };
    match call(&named, 3, 8192) {
        Err(SkyError::WrappedOs { context, errno, .. }) => {
            assert_eq!(context, "Failed to read last 3 lines from files");
            assert_eq!(errno, libc::EISDIR);
        }
        other => panic!("expected a wrapped EISDIR, got {other:?}"),
    }
}

#[test]
fn decoding_matches_python_codecs() {
    assert_eq!(decode(b"caf\xe9", Encoding::Latin1, DecodeErrors::Strict), Ok("café".to_string()));
    assert_eq!(decode(b"caf\xe9", Encoding::Utf8, DecodeErrors::Replace), Ok("caf\u{fffd}".to_string()));
    assert_eq!(decode(b"a\x80b", Encoding::Ascii, DecodeErrors::Replace), Ok("a\u{fffd}b".to_string()));
    // Surrogate encodings are three invalid sequences, as in Python.
    assert_eq!(decode(b"\xed\xa0\x80", Encoding::Utf8, DecodeErrors::Replace), Ok("\u{fffd}".repeat(3)));
    let strict = decode(b"ab\xe2\x82", Encoding::Utf8, DecodeErrors::Strict);
    assert_eq!(
        strict.map_err(|e| e.to_string()),
        Err("'utf-8' codec can't decode bytes in position 2-3: unexpected end of data".to_string())
    );
    assert_eq!(Encoding::from_python_name("UTF-8"), Some(Encoding::Utf8));
    assert_eq!(Encoding::from_python_name(" Latin-1 "), Some(Encoding::Latin1));
    assert_eq!(Encoding::from_python_name("US-ASCII"), Some(Encoding::Ascii));
    assert_eq!(Encoding::from_python_name("utf-16"), None);
    assert_eq!(DecodeErrors::from_python_name("Replace"), None);
}

/// The spec's whole-file definition (section 2.1), for UTF-8 with `replace`.
fn whole_file_definition(content: &[u8], n: usize) -> Vec<String> {
    if n == 0 || content.is_empty() {
        return Vec::new();
    }
    let mut pieces: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|piece| piece.is_empty()) {
        pieces.pop();
    }
    let selected = &pieces[pieces.len().saturating_sub(n)..];
    let mut lines: Vec<String> = selected
        .iter()
        .map(|piece| String::from_utf8_lossy(piece).trim_end_matches('\r').to_string() + "\n")
        .collect();
    if let Some(last) = lines.last_mut() {
        last.pop();
    }
    lines
}

#[test]
fn the_scan_agrees_with_the_whole_file_definition() {
    // Lines around the scan window's size, so the needed newline falls at every place in a window.
    let mut state: u64 = 7;
    let mut next = |bound: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    for _ in 0..300 {
        let mut content = Vec::new();
        for _ in 0..next(12) {
            let length = [0, 1, 5, 4095, 4096, 8191, 8192, 8193, 20000][next(9) as usize];
            content.extend(std::iter::repeat_n(b"ab\r\xff"[next(4) as usize], length));
            content.push(b'\n');
        }
        if next(2) == 0 {
            content.truncate(content.len().saturating_sub(next(3) as usize));
        }
        let n = next(8) as usize;
        let chunk_size = [1, 7, 4096, 8192, 1 << 40][next(5) as usize];
        let file = file_with(&content);
        let got =
            read_last_n_lines(&named(&file), n as i64, chunk_size, Encoding::Utf8, DecodeErrors::Replace);
        assert_eq!(
            got,
            Ok(whole_file_definition(&content, n)),
            "n={n} chunk={chunk_size} len={}",
            content.len()
        );
    }
}

/// Every line `drain_lines` hands out after each `fill`, with the bytes held once it is done.
fn drained(tail: &mut TailLines) -> (Vec<(Vec<u8>, bool)>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut held = Vec::new();
    loop {
        tail.fill().expect("fill");
        held.push(tail.pending.capacity());
        tail.drain_lines(|line, is_last| {
            lines.push((line.to_vec(), is_last));
            Ok::<(), SkyError>(())
        })
        .expect("drain");
        if tail.is_read() {
            return (lines, held);
        }
    }
}

#[test]
fn only_the_returned_lines_are_read_into_memory() {
    let mut content = b"old\n".repeat(100_000);
    content.extend_from_slice(b"x\ny\n");
    let file = file_with(&content);
    let mut tail = read_last_lines(&named(&file), 2, 8192).expect("read");
    // The scan's first window held the tail: only its 4 bytes are kept, and nothing is left to read.
    assert_eq!((tail.pending.as_slice(), tail.unread_bytes), (&b"x\ny\n"[..], 0));
    assert!(tail.file.is_none());
    let (lines, _) = drained(&mut tail);
    assert_eq!(lines, vec![(b"x\n".to_vec(), false), (b"y".to_vec(), true)]);
}

#[test]
fn a_file_inside_one_window_is_read_once_whole() {
    let file = file_with(b"a\nb\r\nc");
    let mut tail = read_last_lines(&named(&file), 10, 8192).expect("read");
    assert_eq!((tail.pending.as_slice(), tail.unread_bytes), (&b"a\nb\r\nc"[..], 0));
    let (lines, _) = drained(&mut tail);
    assert_eq!(lines, vec![(b"a\n".to_vec(), false), (b"b\r\n".to_vec(), false), (b"c".to_vec(), true)]);
}

#[test]
fn a_tail_past_the_first_window_is_read_forward_from_its_start() {
    // 3,000 lines of 10 bytes: the scan needs several (growing) windows, then reads the tail forward.
    let content: Vec<u8> = (0..3_000).flat_map(|index| format!("line {index:04}\n").into_bytes()).collect();
    let file = file_with(&content);
    let mut tail = read_last_lines(&named(&file), 2_500, 8192).expect("read");
    assert_eq!((tail.pending.len(), tail.offset, tail.unread_bytes), (0, 5_000, 25_000));
    let (lines, _) = drained(&mut tail);
    assert_eq!(lines.len(), 2_500);
    assert_eq!(lines[0].0, b"line 0500\n");
    assert_eq!(lines[2_499], (b"line 2999".to_vec(), true));
}

#[test]
fn a_long_tail_is_read_in_windows_and_a_line_across_them_is_whole() {
    // 100,000 lines of 20 bytes: 2 MB of tail, held one window (plus a partial line) at a time.
    let line = b"0123456789abcdefghi\n";
    let mut content = line.repeat(100_000);
    content.extend_from_slice(&[b'z'; 3 * TAIL_WINDOW_BYTES]);
    content.extend_from_slice(b"\r\n");
    let file = file_with(&content);
    let (lines, held) = drained(&mut read_last_lines(&named(&file), 200_000, 8192).expect("read"));
    assert_eq!(lines.len(), 100_001);
    assert!(lines[..100_000].iter().all(|(bytes, last)| bytes == line && !last));
    assert_eq!(lines[100_000].0.len(), 3 * TAIL_WINDOW_BYTES + 1);
    assert!(lines[100_000].1);
    // Until the long line, one window and a line; the long line alone grows the buffer to its length.
    assert!(held[..30].iter().all(|&bytes| bytes <= TAIL_WINDOW_BYTES), "{:?}", &held[..30]);
}

#[test]
fn line_text_borrows_plain_lines_and_strips_carriage_returns() {
    let text_of = |line: &[u8], is_last: bool, encoding: Encoding| {
        let mut bytes = line.to_vec();
        match line_text(&mut bytes, is_last, encoding, DecodeErrors::Strict).expect("text") {
            Cow::Borrowed(text) => (text.to_string(), true),
            Cow::Owned(text) => (text, false),
        }
    };
    assert_eq!(text_of(b"ab\n", false, Encoding::Utf8), ("ab\n".to_string(), true));
    // A CRLF line is rewritten in place: no copy, in every codec its bytes are ASCII in.
    assert_eq!(text_of(b"ab\r\r\n", false, Encoding::Latin1), ("ab\n".to_string(), true));
    assert_eq!(text_of("caf\u{e9}\r\n".as_bytes(), false, Encoding::Utf8), ("caf\u{e9}\n".to_string(), true));
    assert_eq!(text_of(b"ab\r\r", true, Encoding::Ascii), ("ab".to_string(), true));
    // Bytes that are not their own text are decoded into a new string.
    assert_eq!(text_of(b"caf\xe9\r", true, Encoding::Latin1), ("caf\u{e9}".to_string(), false));
    assert_eq!(text_of(b"caf\xe9\r\n", false, Encoding::Latin1), ("caf\u{e9}\n".to_string(), false));
}

#[test]
fn an_invalid_crlf_line_is_decoded_whole_and_then_stripped() {
    let mut bytes = b"a\xff\r\r\n".to_vec();
    let text = line_text(&mut bytes, false, Encoding::Utf8, DecodeErrors::Replace).expect("text");
    assert_eq!(text, "a\u{fffd}\n");
    let mut bytes = b"a\xff\r\n".to_vec();
    let error = line_text(&mut bytes, false, Encoding::Utf8, DecodeErrors::Strict).expect_err("strict");
    // Python's strict error names the bytes of the line as read, its '\r' included.
    assert!(
        matches!(&error, SkyError::UnicodeDecode { input, start: 1, end: 2, .. } if input == b"a\xff\r"),
        "{error:?}"
    );
}

#[test]
fn a_file_that_opens_but_cannot_seek_reads_as_in_python() {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into the array we own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let path = format!("/proc/self/fd/{}", fds[0]);
    let result = read_last_lines(&NamedPath::from(path.as_str()), 1, 8192);
    // SAFETY: both descriptors are ours and closed once.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    assert_eq!(
        result.map(|_| ()).map_err(|error| error.to_string()),
        Err(format!("Failed to read last 1 lines from {path}: File or stream is not seekable."))
    );
}

#[test]
fn a_buffer_that_cannot_be_had_is_a_memory_error() {
    assert!(matches!(try_buffer(u64::MAX), Err(TailError::Memory)));
}
