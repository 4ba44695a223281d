//! A tiny fork-join thread pool: `run(n, f)` calls f(0..n) on the calling thread plus the workers
//! and returns when all n tasks are done.
//!
//! Threads: XT_THREADS (default: available_parallelism, at most 8). Workers spin for a short
//! while (XT_SPIN_US, default 50 µs) after their last task so that a burst of kernels does not pay
//! a futex wake-up per kernel, then sleep on a condition variable.
//!
//! Task claiming is one atomic word: epoch (24 bits) | task count (20 bits) | next index (20 bits).
//! A worker runs a task only after a compare-and-swap on the word of the epoch whose job pointer it
//! read, so a late worker can never run a finished job's closure.

use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

type Job<'a> = &'a (dyn Fn(usize) + Sync);

const IDX_BITS: u32 = 20;
const CNT_BITS: u32 = 20;
const IDX_MASK: u64 = (1 << IDX_BITS) - 1;
const CNT_MASK: u64 = (1 << CNT_BITS) - 1;
pub const MAX_TASKS: usize = (1 << IDX_BITS) - 1;

struct Shared {
    /// epoch << 40 | ntasks << 20 | next
    state: AtomicU64,
    /// Points at a `Job` living on the caller's stack for the duration of `run`.
    job: AtomicPtr<()>,
    done: AtomicUsize,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
    spin: Duration,
}

pub struct Pool {
    threads: usize,
    shared: &'static Shared,
    /// Serialises callers (JS calls come from one thread; this guards against re-entry anyway).
    caller: Mutex<()>,
    /// Load adaptation (see `run`): EWMA of the fraction of a run the caller spent waiting for
    /// workers, in 1/1024 units, and the time until which runs go serial.
    wait_frac: AtomicUsize,
    serial_until: Mutex<Option<Instant>>,
    adaptive: bool,
}

static POOL: OnceLock<Pool> = OnceLock::new();

pub fn pool() -> &'static Pool {
    POOL.get_or_init(Pool::new)
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok())
}

impl Pool {
    fn new() -> Pool {
        let hw = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let threads = env_usize("XT_THREADS").filter(|&n| n >= 1).unwrap_or(hw.min(8)).min(64);
        let spin = Duration::from_micros(env_usize("XT_SPIN_US").unwrap_or(50) as u64);
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            state: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            done: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            spin,
        }));
        let mut started = 1;
        for w in 1..threads {
            let ok = std::thread::Builder::new()
                .name(format!("xt-cpu-{w}"))
                .spawn(move || worker(shared))
                .is_ok();
            if ok {
                started += 1;
            }
        }
        let adaptive = std::env::var("XT_ADAPTIVE").map(|v| v != "0").unwrap_or(true);
        Pool { threads: started, shared, caller: Mutex::new(()), wait_frac: AtomicUsize::new(0), serial_until: Mutex::new(None), adaptive }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs f(0), …, f(n-1) across the pool (the caller takes part) and waits for all of them.
    pub fn run(&self, n: usize, f: &(dyn Fn(usize) + Sync)) {
        if n == 0 {
            return;
        }
        if n == 1 || self.threads == 1 {
            for i in 0..n {
                f(i);
            }
            return;
        }
        assert!(n <= MAX_TASKS, "too many tasks");
        let _g = self.caller.lock().unwrap_or_else(|e| e.into_inner());
        // On a machine shared with other busy processes a worker can be descheduled while it
        // holds a task, and the caller then idles until it runs again: worse than no threads.
        // When the caller has lately been waiting more than half of each run, go serial for a
        // while (50 ms), then try again.
        let t0 = if self.adaptive { Some(Instant::now()) } else { None };
        if self.adaptive {
            let mut su = self.serial_until.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = *su {
                if t0.unwrap() < until {
                    drop(su);
                    for i in 0..n {
                        f(i);
                    }
                    return;
                }
                *su = None;
                self.wait_frac.store(0, Relaxed);
            }
        }
        let s = self.shared;
        let job: Job = f;
        s.done.store(0, Relaxed);
        s.job.store(&job as *const Job as *mut (), Release);
        let old = s.state.load(Relaxed);
        let epoch = ((old >> (IDX_BITS + CNT_BITS)) + 1) & ((1 << 24) - 1);
        let st = (epoch << (IDX_BITS + CNT_BITS)) | ((n as u64) << IDX_BITS);
        s.state.store(st, SeqCst);
        if s.sleepers.load(SeqCst) > 0 {
            let _l = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.cv.notify_all();
        }
        // Take part.
        let mut cur = st;
        loop {
            let idx = cur & IDX_MASK;
            let cnt = (cur >> IDX_BITS) & CNT_MASK;
            if idx >= cnt {
                break;
            }
            match s.state.compare_exchange_weak(cur, cur + 1, AcqRel, Acquire) {
                Ok(_) => {
                    f(idx as usize);
                    s.done.fetch_add(1, Release);
                    cur += 1;
                }
                Err(now) => cur = now,
            }
        }
        // Wait for tasks claimed by workers.
        let t1 = t0.map(|_| Instant::now());
        let mut spins = 0u32;
        while s.done.load(Acquire) < n {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        if let (Some(t0), Some(t1)) = (t0, t1) {
            let t2 = Instant::now();
            let total = (t2 - t0).as_nanos().max(1);
            let waited = (t2 - t1).as_nanos();
            let frac = ((waited * 1024) / total) as usize;
            // EWMA with weight 1/8.
            let old = self.wait_frac.load(Relaxed);
            let new = old - old / 8 + frac / 8;
            self.wait_frac.store(new, Relaxed);
            if new > 512 && total > 20_000 {
                let mut su = self.serial_until.lock().unwrap_or_else(|e| e.into_inner());
                *su = Some(t2 + Duration::from_millis(50));
            }
        }
    }
}

fn worker(s: &'static Shared) {
    let mut seen = s.state.load(Acquire) >> (IDX_BITS + CNT_BITS);
    loop {
        // Wait for a new epoch: spin first, then sleep.
        let start = Instant::now();
        let mut spins = 0u32;
        let mut cur;
        loop {
            cur = s.state.load(Acquire);
            if cur >> (IDX_BITS + CNT_BITS) != seen {
                break;
            }
            spins += 1;
            if spins & 255 == 0 && start.elapsed() >= s.spin {
                let mut g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                s.sleepers.fetch_add(1, SeqCst);
                loop {
                    cur = s.state.load(SeqCst);
                    if cur >> (IDX_BITS + CNT_BITS) != seen {
                        break;
                    }
                    g = s.cv.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                s.sleepers.fetch_sub(1, SeqCst);
                drop(g);
                break;
            }
            std::hint::spin_loop();
        }
        seen = cur >> (IDX_BITS + CNT_BITS);
        // Claim tasks of this epoch.
        let jp = s.job.load(Acquire) as *const Job;
        loop {
            if cur >> (IDX_BITS + CNT_BITS) != seen {
                break;
            }
            let idx = cur & IDX_MASK;
            let cnt = (cur >> IDX_BITS) & CNT_MASK;
            if idx >= cnt {
                break;
            }
            match s.state.compare_exchange_weak(cur, cur + 1, AcqRel, Acquire) {
                Ok(_) => {
                    // Safe: the caller waits in `run` until every claimed task has finished, and
                    // the job pointer read after observing this epoch belongs to this epoch.
                    let f: Job = unsafe { *jp };
                    f(idx as usize);
                    s.done.fetch_add(1, Release);
                    cur += 1;
                }
                Err(now) => cur = now,
            }
        }
    }
}

/// Runs f(lo, hi) over [0, n) in chunks (multiples of 16) spread over the pool when n is at least
/// 2·grain; otherwise f(0, n) on the calling thread.
pub fn par_range(n: usize, grain: usize, f: &(dyn Fn(usize, usize) + Sync)) {
    let p = pool().threads();
    if p <= 1 || n < 2 * grain.max(1) {
        f(0, n);
        return;
    }
    let tasks = (n / grain.max(1)).clamp(2, 4 * p);
    let chunk = n.div_ceil(tasks).div_ceil(16) * 16;
    let tasks = n.div_ceil(chunk);
    pool().run(tasks, &|t| {
        let lo = t * chunk;
        let hi = (lo + chunk).min(n);
        if lo < hi {
            f(lo, hi);
        }
    });
}

/// Raw pointer wrapper that may cross threads (the kernels guarantee disjoint writes).
#[derive(Clone, Copy)]
pub struct SendPtr<T>(pub *mut T);
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}
