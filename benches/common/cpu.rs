//! User and system CPU time of this process, for the benchmarks' "CPU per launch" figures.

use std::time::Duration;

/// User and system CPU time of this process so far (Linux `/proc/self/stat`, clock ticks of
/// 1/100 s).
pub fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after its ')';
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
