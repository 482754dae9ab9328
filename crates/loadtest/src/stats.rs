//! The figures of the report: percentiles, and what Linux says about a
//! process's memory and CPU time.

use std::time::Duration;

/// The nearest-rank percentile of `sorted` (ascending): the smallest value
/// with at least `p` percent of the values at or below it. `None` when empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    Some(sorted[nearest_rank(sorted.len(), p)? - 1])
}

/// The 1-based position of the `p`th percentile among `len` sorted values.
pub fn nearest_rank(len: usize, p: f64) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let rank = (p / 100.0 * len as f64).ceil() as usize;
    Some(rank.clamp(1, len))
}

/// Resident and peak resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss: u64,
    /// The kernel's high-water mark of `rss` since the process started.
    pub peak: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/<pid>/status` ("self" for this
/// process). `None` when the process is gone or this is not Linux.
pub fn memory(pid: &str) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// User plus system CPU time a process has used so far.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split_whitespace();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the
    // name and state; Linux counts them in USER_HZ, which is 100.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The CPU time of a process and of all its children so far: its own,
/// what its children that ended left it (`cutime`, `cstime`), and that of
/// the children still running. Over a window this counts every backend of
/// a Postgres cluster, those that came and went included, when given the
/// postmaster's id. A child that ends between reading the parent and
/// listing the children is missed in that one reading (with the server's
/// long-lived pool of connections, rare).
pub fn tree_cpu_time(pid: &str) -> Option<Duration> {
    let ticks = |stat: &str, from: usize, count: usize| -> Option<u64> {
        let after_name = &stat[stat.rfind(')')? + 2..];
        after_name
            .split_whitespace()
            .skip(from)
            .take(count)
            .map(|f| f.parse::<u64>().ok())
            .sum()
    };
    // Children name their parent by number.
    let pid = if pid == "self" {
        std::process::id().to_string()
    } else {
        pid.to_owned()
    };
    let pid = pid.as_str();
    let own = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime, stime, cutime, cstime: fields 12 to 15 after the name and
    // state, in USER_HZ (100 a second).
    let mut total = ticks(&own, 11, 4)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(child) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The parent's id is the second field after the name.
        let parent = stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split_whitespace().nth(1));
        if parent == Some(pid) {
            total += ticks(&stat, 11, 2).unwrap_or(0);
        }
    }
    Some(Duration::from_millis(total * 10))
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(percentile(&hundred, 0.0), Some(1));
        // Ten values: the 99th percentile is the largest, the median the fifth.
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10));
        assert_eq!(percentile(&ten, 50.0), Some(5));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
        assert_eq!(nearest_rank(200, 99.0), Some(198));
    }

    #[test]
    fn a_process_tree_counts_its_children() {
        // A child that burns some CPU and ends: its time moves into ours.
        let before = tree_cpu_time("self").unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let after = tree_cpu_time("self").unwrap();
        assert!(after > before, "{before:?} then {after:?}");
    }

    #[test]
    fn reads_its_own_memory_and_cpu() {
        let memory = memory("self").expect("Linux /proc");
        assert!(memory.rss > 0 && memory.peak >= memory.rss);
        // Burn a little CPU so the counter cannot read zero by luck.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(cpu_time("self").expect("Linux /proc") > Duration::ZERO);
    }
}
