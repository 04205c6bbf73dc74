//! `pipe`/`Connection`: the standard set (smoke, directions, timeouts, disconnect) plus
//! hostile frames. Ideas from CPython's `_test_multiprocessing` connection tests, in
//! our own words. A counting global allocator proves that a frame's claimed length is
//! never allocated up front.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skein_process::{Connection, RecvError, RecvTimeoutError, SendError, pipe};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may be gone while a thread ends.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocations_here() -> u64 {
    ALLOCS.with(|c| c.get())
}

// SAFETY: forwards every call to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count();
        LARGEST.fetch_max(new, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Writes raw bytes to the peer of `c`, bypassing framing.
fn raw_write(c: &Connection, bytes: &[u8]) {
    // SAFETY: we borrow the descriptor for the write only; ManuallyDrop keeps it open.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(c.as_raw_fd()) });
    f.write_all(bytes).unwrap();
}

fn header(len: u32) -> Vec<u8> {
    let mut h = vec![b'S', b'K', 1, 0];
    h.extend_from_slice(&len.to_le_bytes());
    h
}

#[test]
fn smoke_values_and_bytes_both_ways() {
    let (a, b) = pipe(true).unwrap();
    a.send(&vec![1u32, 2, 3]).unwrap();
    assert_eq!(b.recv::<Vec<u32>>().unwrap(), vec![1, 2, 3]);
    b.send(&"back".to_string()).unwrap();
    assert_eq!(a.recv::<String>().unwrap(), "back");
    a.send_bytes(b"raw").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"raw");
    a.send_bytes(b"").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"");
    let mut buf = Vec::with_capacity(16);
    a.send_bytes(b"into").unwrap();
    assert_eq!(b.recv_bytes_into(&mut buf).unwrap(), 4);
    assert_eq!(buf, b"into");
}

#[test]
fn one_way_pipe_has_directions() {
    let (r, w) = pipe(false).unwrap();
    assert!(r.readable() && !r.writable());
    assert!(w.writable() && !w.readable());
    w.send(&5u8).unwrap();
    assert_eq!(r.recv::<u8>().unwrap(), 5);
    assert!(matches!(r.send(&1u8), Err(SendError::NotWritable)));
    assert!(matches!(w.recv::<u8>(), Err(RecvError::NotReadable)));
    assert!(matches!(w.poll(), Err(RecvError::NotReadable)));
}

#[test]
fn poll_and_timeouts() {
    let (a, b) = pipe(true).unwrap();
    assert!(!b.poll().unwrap());
    let t0 = Instant::now();
    assert!(!b.poll_timeout(Duration::from_millis(30)).unwrap());
    assert!(t0.elapsed() >= Duration::from_millis(30));
    let t0 = Instant::now();
    assert!(matches!(
        b.recv_timeout::<u8>(Duration::from_millis(30)),
        Err(RecvTimeoutError::Timeout)
    ));
    assert!(t0.elapsed() >= Duration::from_millis(30));
    assert!(b.try_recv::<u8>().unwrap_err().is_timeout());
    a.send(&9u8).unwrap();
    assert!(b.poll_timeout(Duration::from_secs(10)).unwrap());
    assert_eq!(b.recv_timeout::<u8>(Duration::from_secs(10)).unwrap(), 9);
}

#[test]
fn disconnect_is_a_clear_error() {
    let (a, b) = pipe(true).unwrap();
    a.send(&1u8).unwrap();
    drop(a);
    // Frames sent before the end still arrive; then end-of-stream.
    assert_eq!(b.recv::<u8>().unwrap(), 1);
    assert!(b.poll().unwrap(), "end-of-stream counts as readable");
    assert!(matches!(b.recv::<u8>(), Err(RecvError::Disconnected)));
    assert!(matches!(b.send(&1u8), Err(SendError::Disconnected)));
    let e = b.recv::<u8>().unwrap_err();
    assert!(e.to_string().contains("other end is gone"), "{e}");
}

#[test]
fn unserialisable_value_fails_at_send_and_sends_nothing() {
    let (a, b) = pipe(true).unwrap();
    let (c, _d) = pipe(true).unwrap();
    // A connection is a handle: it only travels as a child's argument.
    let e = a.send(&c).unwrap_err();
    assert!(matches!(e, SendError::Serialize(_)), "{e}");
    assert!(e.to_string().contains("argument of a child process"), "{e}");
    assert!(!b.poll().unwrap(), "nothing reached the peer");
}

#[test]
fn too_large_to_send_fails_in_the_caller() {
    let (mut a, b) = pipe(true).unwrap();
    a.set_max_frame(10);
    assert!(matches!(
        a.send_bytes(&[0; 11]),
        Err(SendError::TooLarge { len: 11, max: 10 })
    ));
    a.send_bytes(&[0; 10]).unwrap();
    assert_eq!(b.recv_bytes().unwrap().len(), 10);
}

#[test]
fn oversized_frame_is_refused_without_allocating() {
    let (a, b) = pipe(true).unwrap();
    raw_write(&a, &header(u32::MAX)); // claims 4 GiB
    LARGEST.store(0, Ordering::Relaxed);
    let e = b.recv_bytes().unwrap_err();
    assert!(
        LARGEST.load(Ordering::Relaxed) < 1 << 20,
        "allocated for the claim"
    );
    assert!(
        matches!(e, RecvError::TooLarge { len, .. } if len == u32::MAX as usize),
        "{e}"
    );
    // The stream cannot be re-synchronised.
    assert!(matches!(b.recv_bytes(), Err(RecvError::Closed)));
}

#[test]
fn truncated_frame_allocates_only_what_arrived() {
    let (a, mut b) = pipe(true).unwrap();
    b.set_max_frame(u32::MAX as usize);
    raw_write(&a, &header(3 << 30)); // claims 3 GiB, within the maximum
    raw_write(&a, b"only ten b");
    drop(a);
    LARGEST.store(0, Ordering::Relaxed);
    let e = b.recv_bytes().unwrap_err();
    assert!(
        LARGEST.load(Ordering::Relaxed) <= 2 * skein_process::READ_CHUNK,
        "allocated {} bytes",
        LARGEST.load(Ordering::Relaxed)
    );
    assert!(
        matches!(e, RecvError::Truncated { expected, got: 10 } if expected == 3 << 30),
        "{e}"
    );
}

#[test]
fn corrupt_header_is_a_clear_error() {
    let (a, b) = pipe(true).unwrap();
    raw_write(&a, b"GET / HTTP/1.1\r\n");
    let e = b.recv_bytes().unwrap_err();
    assert!(matches!(e, RecvError::Corrupt(_)), "{e}");
    assert!(matches!(b.recv_bytes(), Err(RecvError::Closed)));
}

#[test]
fn truncated_header_is_a_clear_error() {
    let (a, b) = pipe(true).unwrap();
    raw_write(&a, b"SK\x01");
    drop(a);
    assert!(matches!(
        b.recv_bytes(),
        Err(RecvError::Truncated {
            expected: 8,
            got: 3
        })
    ));
}

#[test]
fn wrong_type_is_a_decode_error() {
    let (a, b) = pipe(true).unwrap();
    a.send_bytes(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap();
    assert!(matches!(b.recv::<String>(), Err(RecvError::Deserialize(_))));
    // The frame boundary held: the next frame is fine.
    a.send(&"ok").unwrap();
    assert_eq!(b.recv::<String>().unwrap(), "ok");
}

#[test]
fn timeout_mid_frame_keeps_the_partial_frame() {
    let (a, b) = pipe(true).unwrap();
    let mut frame = header(6);
    frame.extend_from_slice(b"abcdef");
    raw_write(&a, &frame[..10]); // header + "ab"
    assert!(
        b.recv_bytes_timeout(Duration::from_millis(20))
            .unwrap_err()
            .is_timeout()
    );
    raw_write(&a, &frame[10..]);
    assert_eq!(
        b.recv_bytes_timeout(Duration::from_secs(10)).unwrap(),
        b"abcdef"
    );
}

#[test]
fn bulk_frames_survive_concurrent_sender() {
    let (a, b) = pipe(true).unwrap();
    let n = 200;
    let sender = std::thread::spawn(move || {
        for i in 0..n {
            let v = vec![i as u8; 64 * 1024];
            a.send_bytes(&v).unwrap();
        }
    });
    let mut buf = Vec::new();
    for i in 0..n {
        assert_eq!(b.recv_bytes_into(&mut buf).unwrap(), 64 * 1024);
        assert!(buf.iter().all(|&x| x == i as u8));
    }
    sender.join().unwrap();
}

#[test]
fn try_clone_shares_the_stream() {
    let (a, b) = pipe(true).unwrap();
    let a2 = a.try_clone().unwrap();
    a2.send(&1u8).unwrap();
    a.send(&2u8).unwrap();
    assert_eq!(b.recv::<u8>().unwrap(), 1);
    assert_eq!(b.recv::<u8>().unwrap(), 2);
    a.close();
    a2.send(&3u8).unwrap();
    assert_eq!(b.recv::<u8>().unwrap(), 3);
}

#[test]
fn read_ahead_keeps_frame_boundaries() {
    let (a, b) = pipe(true).unwrap();
    // Many small frames already queued: a reused buffer's spare capacity lets one read
    // take several of them at once; every frame must still come out whole and in order.
    for i in 0..100u32 {
        a.send_bytes(&vec![i as u8; (i % 7) as usize]).unwrap();
        a.send(&i).unwrap();
    }
    let mut buf = Vec::with_capacity(4096);
    for i in 0..100u32 {
        assert_eq!(b.recv_bytes_into(&mut buf).unwrap(), (i % 7) as usize);
        assert!(buf.iter().all(|&x| x == i as u8));
        buf.reserve(4096);
        if i % 2 == 0 {
            assert_eq!(b.recv::<u32>().unwrap(), i);
        } else {
            assert_eq!(b.recv_bytes_into(&mut buf).unwrap(), postcard_len(i));
            buf.reserve(4096);
        }
    }
    assert!(!b.poll().unwrap());
}

fn postcard_len(i: u32) -> usize {
    // postcard encodes a u32 as a varint
    match i {
        0..=127 => 1,
        _ => 2,
    }
}

#[test]
fn poll_sees_bytes_read_ahead() {
    let (a, b) = pipe(true).unwrap();
    a.send_bytes(b"one").unwrap();
    a.send_bytes(b"two").unwrap();
    let mut buf = Vec::with_capacity(1024);
    // Wait until both frames (2 × 11 bytes) are in the socket, so one read takes both.
    while queued(&b) < 22 {
        std::thread::yield_now();
    }
    assert_eq!(b.recv_bytes_into(&mut buf).unwrap(), 3);
    assert_eq!(buf, b"one");
    assert!(b.poll().unwrap(), "the second frame was read ahead");
    assert_eq!(b.recv_bytes().unwrap(), b"two");
    assert!(!b.poll().unwrap());
}

/// Bytes waiting in the socket of `c` (`FIONREAD`).
fn queued(c: &Connection) -> libc::c_int {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the valid pointer.
    unsafe { libc::ioctl(c.as_raw_fd(), libc::FIONREAD, &mut n) };
    n
}

/// Issue 17 item 7: receiving small messages allocates nothing per message — `recv`
/// of a value, `recv_bytes_into` a reused vector, `recv_bytes_into_at` a slice. (On
/// main, every `recv` allocated the payload's vector.)
#[test]
fn small_messages_are_received_without_allocating() {
    const N: u64 = 10_000;
    let (a, b) = pipe(true).unwrap();
    let sender = std::thread::spawn(move || {
        for round in 0..3 {
            for i in 0..N {
                if round == 0 {
                    a.send(&i).unwrap();
                } else {
                    a.send_bytes(&i.to_le_bytes()).unwrap();
                }
            }
        }
        a
    });
    // Warm up (the receive buffer is allocated once), then count.
    assert_eq!(b.recv::<u64>().unwrap(), 0);
    let mut vec = Vec::with_capacity(64);
    let mut slice = [0u8; 16];
    let before = allocations_here();
    for i in 1..N {
        assert_eq!(b.recv::<u64>().unwrap(), i);
    }
    for i in 0..N {
        assert_eq!(b.recv_bytes_into(&mut vec).unwrap(), 8);
        assert_eq!(vec, i.to_le_bytes());
    }
    for i in 0..N {
        assert_eq!(b.recv_bytes_into_at(&mut slice, 8).unwrap(), 8);
        assert_eq!(slice[8..], i.to_le_bytes());
    }
    let allocated = allocations_here() - before;
    assert_eq!(
        allocated,
        0,
        "{allocated} allocations for {} messages",
        3 * N - 1
    );
    drop(sender.join().unwrap());
}

/// Python's `recv_bytes_into(buffer, offset)`: the message lands at the offset; one
/// that does not fit comes back whole in `BufferTooShort`, and the stream goes on.
#[test]
fn recv_bytes_into_at_an_offset() {
    let (a, b) = pipe(true).unwrap();
    a.send_bytes(b"tail").unwrap();
    a.send_bytes(b"too long for the room").unwrap();
    a.send_bytes(b"next").unwrap();
    let mut buf = *b"head----";
    assert_eq!(b.recv_bytes_into_at(&mut buf, 4).unwrap(), 4);
    assert_eq!(&buf, b"headtail");
    match b.recv_bytes_into_at(&mut buf, 2) {
        Err(RecvError::BufferTooShort(m)) => assert_eq!(m, b"too long for the room"),
        other => panic!("expected BufferTooShort, got {other:?}"),
    }
    assert_eq!(&buf, b"headtail", "nothing written on BufferTooShort");
    assert!(matches!(
        b.recv_bytes_into_at(&mut buf, 9),
        Err(RecvError::OffsetOutOfRange { offset: 9, len: 8 })
    ));
    // Exactly at the end: room for an empty message only.
    a.send_bytes(b"").unwrap();
    assert_eq!(b.recv_bytes_into_at(&mut buf, 0).unwrap(), 4);
    assert_eq!(&buf[..4], b"next");
    assert_eq!(b.recv_bytes_into_at(&mut buf, 8).unwrap(), 0);
}

/// Small and large frames in every order, through every receive method: the buffered
/// small-frame path and the direct large-frame path hand over to each other without
/// losing or reordering a byte.
#[test]
fn mixed_frame_sizes_arrive_in_order() {
    let sizes: Vec<usize> = [
        8, 100_000, 8, 8, 20_000, 3, 70_000, 0, 8, 8191, 8192, 8193, 65_536, 65_528, 1, 300_000, 7,
        7, 7,
    ]
    .repeat(5);
    let (a, b) = pipe(true).unwrap();
    let sent = sizes.clone();
    let sender = std::thread::spawn(move || {
        for (i, &n) in sent.iter().enumerate() {
            let v: Vec<u8> = (0..n).map(|k| (k as u8).wrapping_add(i as u8)).collect();
            a.send_bytes(&v).unwrap();
        }
        a
    });
    let mut vec = Vec::new();
    let mut slice = vec![0u8; 400_000];
    for (i, &n) in sizes.iter().enumerate() {
        let expected: Vec<u8> = (0..n).map(|k| (k as u8).wrapping_add(i as u8)).collect();
        match i % 3 {
            0 => assert_eq!(b.recv_bytes().unwrap(), expected, "frame {i}"),
            1 => {
                assert_eq!(b.recv_bytes_into(&mut vec).unwrap(), n);
                assert_eq!(vec, expected, "frame {i}");
            }
            _ => {
                assert_eq!(b.recv_bytes_into_at(&mut slice, 5).unwrap(), n);
                assert_eq!(slice[5..5 + n], expected[..], "frame {i}");
            }
        }
    }
    drop(sender.join().unwrap());
    assert!(matches!(b.recv_bytes(), Err(RecvError::Disconnected)));
}

/// A small deterministic generator (xorshift64*), so a failing case is reproducible
/// from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Frames of random sizes (mostly small, some around the large-frame threshold of
/// 8 KiB, a few large), written raw in random pieces so that headers and payloads are
/// split at every possible point, then received through random methods. Each stream
/// ends with a bad frame; it must be refused at the right place, and the connection
/// closed. This guards the small-frame fast path (which decides from a whole header
/// in the buffer) against the general path it falls back to.
#[test]
fn random_frames_split_anywhere_arrive_whole() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Duplex and one-way pairs; bytes written raw into `a` arrive at `b`.
        let (mut b, a) = pipe(seed % 2 == 0).unwrap();
        let max_frame = 100_000;
        b.set_max_frame(max_frame);
        let mut frames = Vec::new();
        let mut stream = Vec::new();
        for i in 0..300 {
            let n = match rng.below(10) {
                0..=5 => rng.below(40),
                6 | 7 => rng.below(300),
                8 => 8 * 1024 - 2 + rng.below(4),
                _ => rng.below(max_frame),
            };
            let payload: Vec<u8> = (0..n).map(|k| (k as u8) ^ (i as u8)).collect();
            stream.extend_from_slice(&header(n as u32));
            stream.extend_from_slice(&payload);
            frames.push(payload);
        }
        let bad = seed % 3;
        match bad {
            0 => stream.extend_from_slice(&header(max_frame as u32 + 1)),
            1 => stream.extend_from_slice(b"SK\x01\x01\x04\0\0\0ab"), // reserved byte set
            _ => stream.extend_from_slice(b"SK\x02\0\x04\0\0\0ab"),   // wrong version
        }
        let writer = std::thread::spawn(move || {
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let most = if rng.below(2) == 0 { 20 } else { 5000 };
                let k = (1 + rng.below(most)).min(rest.len());
                raw_write(&a, &rest[..k]);
                rest = &rest[k..];
            }
            a
        });
        let mut pick = Rng(seed);
        let mut vec = Vec::new();
        let mut slice = vec![0u8; max_frame + 3];
        for (i, want) in frames.iter().enumerate() {
            match pick.below(3) {
                0 => assert_eq!(&b.recv_bytes().unwrap(), want, "seed {seed} frame {i}"),
                1 => {
                    assert_eq!(b.recv_bytes_into(&mut vec).unwrap(), want.len());
                    assert_eq!(&vec, want, "seed {seed} frame {i}");
                }
                _ => {
                    assert_eq!(b.recv_bytes_into_at(&mut slice, 3).unwrap(), want.len());
                    assert_eq!(
                        &slice[3..3 + want.len()],
                        &want[..],
                        "seed {seed} frame {i}"
                    );
                }
            }
        }
        let e = b.recv_bytes().unwrap_err();
        match bad {
            0 => assert!(matches!(e, RecvError::TooLarge { .. }), "seed {seed}: {e}"),
            _ => assert!(matches!(e, RecvError::Corrupt(_)), "seed {seed}: {e}"),
        }
        assert!(matches!(b.recv_bytes(), Err(RecvError::Closed)));
        drop(writer.join().unwrap());
    }
}

/// A frame over a small `max_frame` is refused even when it is small enough for the
/// buffered fast path, and even when it arrived in the same read as good frames.
#[test]
fn small_frame_over_max_frame_is_refused() {
    let (a, mut b) = pipe(true).unwrap();
    b.set_max_frame(4);
    let mut stream = header(3);
    stream.extend_from_slice(b"abc");
    stream.extend_from_slice(&header(5));
    stream.extend_from_slice(b"abcde");
    raw_write(&a, &stream);
    assert_eq!(b.recv_bytes().unwrap(), b"abc");
    assert!(matches!(
        b.recv_bytes(),
        Err(RecvError::TooLarge { len: 5, max: 4 })
    ));
    assert!(matches!(b.recv_bytes(), Err(RecvError::Closed)));
}
