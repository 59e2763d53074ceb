//! The file fuzz suite: the IDX, CIFAR-10 and CSV readers fed arbitrary bytes and mutations of
//! valid files must return a dataset or a named error, never panic, and never allocate more
//! than the file declares; multi-member gzip files are read whole and gzip bombs are refused
//! after the declared size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;

use doubledescent::data::{self, CsvOptions, Split};
use doubledescent::{Error, Result};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;

/// The system allocator, counting the bytes this thread holds and their peak, so that a test
/// can bound what a reader allocates (other test threads do not disturb the count).
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + delta;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes this thread held above its level at the start, while running `f`.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(|p| p.get()) - base)
}

fn idx(dims: &[u32], fill: impl Fn(usize) -> u8) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    let len: usize = dims.iter().map(|&d| d as usize).product();
    v.extend((0..len).map(fill));
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A reader's outcome: no panic, and an error message of one line.
fn named<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Err(_) => panic!("{what} panicked"),
        Ok(Err(e)) => {
            let m = e.to_string();
            assert!(!m.is_empty() && !m.contains('\n'), "{what}: {m}");
            None
        }
        Ok(Ok(v)) => Some(v),
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dd-files-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn idx_reader_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Some(a) = named("read_idx_bytes", || data::read_idx_bytes(&bytes, "fuzz")) {
            let len: usize = a.dims.iter().product();
            prop_assert_eq!(a.data.len(), len);
            prop_assert!(a.data.len() <= bytes.len());
        }
        named("read_idx_bytes gzip", || data::read_idx_bytes(&gzip(&bytes), "fuzz"));
    }

    #[test]
    fn idx_reader_survives_mutations_of_a_valid_file(
        at in 0..40usize, byte in any::<u8>(), cut in 0..40usize, compress in any::<bool>(),
    ) {
        let mut good = idx(&[3, 2, 4], |i| i as u8);
        if compress {
            good = gzip(&good);
        }
        let mut bad = good.clone();
        let at = at % bad.len();
        bad[at] = byte;
        bad.truncate(bad.len() - cut.min(bad.len()));
        if let Some(a) = named("read_idx_bytes", || data::read_idx_bytes(&bad, "mutated")) {
            let len: usize = a.dims.iter().product();
            prop_assert_eq!(a.data.len(), len);
            prop_assert!(len <= 4096);
        }
        // Images and labels built from the mutated arrays: a dataset or a named error.
        let labels = data::read_idx_bytes(&idx(&[3], |i| i as u8), "labels").unwrap();
        if let Ok(images) = data::read_idx_bytes(&bad, "mutated") {
            named("Dataset::from_idx", || data::Dataset::from_idx(images, labels, 10));
        }
    }

    #[test]
    fn csv_parser_survives_arbitrary_text(text in "[-a-z0-9,.\n\" eE+]{0,80}") {
        let opts = CsvOptions { target: "y".into(), features: None, drop_missing: false };
        if let Some(t) = named("parse_csv", || data::parse_csv(text.as_bytes(), "fuzz", &opts)) {
            prop_assert!(t.y().iter().all(|v| v.is_finite()));
            prop_assert_eq!(t.x().nrows(), t.y().len());
        }
        let with_header = format!("a,y\n{text}");
        named("parse_csv", || data::parse_csv(with_header.as_bytes(), "fuzz", &opts));
    }

    #[test]
    fn cifar_reader_survives_arbitrary_files(
        len in prop_oneof![0..10usize, 3070..3080usize, 6140..6150usize], byte in any::<u8>(),
    ) {
        let dir = scratch(&format!("cifar{len}-{byte}"));
        std::fs::write(dir.join("test_batch.bin"), vec![byte; len]).unwrap();
        if let Some(d) = named("cifar10", || data::cifar10(&dir, Split::Test)) {
            prop_assert_eq!(len % 3073, 0);
            prop_assert_eq!(d.len(), len / 3073);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_multi_member_gzip_file_is_read_whole() {
    // `cat a.gz b.gz`: gzip -t and zcat accept it; the reader must see every member.
    let whole = idx(&[5, 3], |i| (i * 7) as u8);
    let (a, b) = whole.split_at(9);
    let mut two = gzip(a);
    two.extend(gzip(b));
    let read = data::read_idx_bytes(&two, "two members").unwrap();
    assert_eq!(read.dims, [5, 3]);
    assert_eq!(read.data, whole[12..]);
    // And from a file, as the MNIST loader reads it.
    let dir = scratch("multi");
    let path = dir.join("x-idx2-ubyte.gz");
    std::fs::write(&path, &two).unwrap();
    assert_eq!(data::read_idx(&path).unwrap().data, whole[12..]);
}

#[test]
fn a_gzip_bomb_is_refused_after_the_declared_size() {
    // A valid header declaring 7840 values, followed by 64 MiB of zeros (64 kB compressed):
    // the reader stops after the declared size plus its slack, names the trailing data, and
    // never holds more than a few MiB.
    let mut raw = idx(&[10, 28, 28], |_| 1);
    raw.resize(raw.len() + (64 << 20), 0);
    let bomb = gzip(&raw);
    assert!(bomb.len() < 1 << 20);
    let (out, peak) = peak_allocation(|| data::read_idx_bytes(&bomb, "bomb"));
    assert!(matches!(out, Err(Error::Format(_))), "{:?}", out.err());
    assert!(
        peak < 4 << 20,
        "the reader held {peak} bytes for a 7840-value file"
    );
    // A header that declares more than the memory budget allows is refused before reading.
    let huge = [
        0u8, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1,
    ];
    assert!(matches!(
        data::read_idx_bytes(&gzip(&huge), "huge"),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn a_folder_given_as_a_csv_table_is_named() {
    let dir = scratch("csvdir");
    let opts = CsvOptions {
        target: "y".into(),
        features: None,
        drop_missing: false,
    };
    assert!(matches!(
        data::read_csv(&dir, &opts),
        Err(Error::InvalidArgument { name: "path", .. })
    ));
}
