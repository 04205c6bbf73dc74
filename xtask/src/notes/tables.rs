//! The few facts about the notes that no demo header can carry: where one code block holds
//! two programs, which blocks are reference lists rather than examples, and which examples
//! still wait for a chapter. Every entry is checked against the notes by the tests, and a
//! `WAITING` entry must go once a demo's `Example:` line claims its example.

/// Lines that start a second program inside one code block: `(seed, the line, trimmed)`.
/// The part from that line on is an example of its own, titled by the line (`#` stripped).
pub(crate) const SPLITS: &[(&str, &str)] = &[
    // 多进程: ten processes without join, then `###  数据共享` with Array in the same block.
    ("000", "###  数据共享"),
    // 进程池: the basic ProcessPoolExecutor use, then `# 进程池回调` in the same block.
    ("000", "# 进程池回调"),
];

/// A code block of the notes that lists an API instead of showing a program.
#[derive(Debug)]
pub(crate) struct Reference {
    pub(crate) seed: &'static str,
    pub(crate) section: &'static str,
    pub(crate) key: &'static str,
    /// Where a learner finds the names it lists.
    pub(crate) see: &'static str,
}

/// The reference blocks: shown in the map, not counted as examples.
pub(crate) const REFERENCE: &[Reference] = &[
    Reference {
        seed: "000",
        section: "线程常用方法",
        key: "t.start() 激活线程",
        see: "the Python → skein table of chapter 1 (README, `cargo doc -p skein-threads`); \
              demos threads/04_run_vs_start, 05_daemon, 06_loop_thread",
    },
    Reference {
        seed: "001",
        section: "apply/apply_async",
        key: "apply(func[, args[, kwds]])",
        see: "the Python → skein table of chapter 4 (README, `cargo doc -p skein-pool`); \
              demo pool/03_pool_apply_async",
    },
];

/// An example no demo reproduces yet, and the chapter that will.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) seed: &'static str,
    pub(crate) section: &'static str,
    pub(crate) key: &'static str,
    /// The chapter (crate folder under `crates/`) whose demo will reproduce it.
    pub(crate) chapter: &'static str,
    /// What it waits for, and where to look meanwhile.
    pub(crate) what: &'static str,
}

/// The examples waiting for a chapter. Delete an entry when a demo claims its example.
pub(crate) const WAITING: &[Waiting] = &[];
