//! Who a process is, beyond its pid: the pid, the process's start time
//! (field 22 of `/proc/PID/stat`, clock ticks since boot) and the boot id.
//! A recorded process (a run directory's lock holder, a build's process
//! group) is compared by all three, so a later process that reuses the pid
//! is never mistaken for it. Linux only, like sbuild's unshare mode.

use serde::{Deserialize, Serialize};

/// A process as it can be recognised again later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub pid: i32,
    /// Clock ticks after boot at which the process started.
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id`: tick counts restart at boot.
    pub boot_id: String,
}

/// The fields of `/proc/PID/stat` cascade needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `Z` (zombie: dead, not yet reaped), …
    pub state: char,
    pub pgrp: i32,
    pub start_ticks: u64,
}

impl Stat {
    /// Parses a stat line. The command name (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last `)`.
    pub fn parse(line: &str) -> Option<Stat> {
        let rest = &line[line.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] is field 3 (state); field N is f[N - 3].
        Some(Stat {
            state: f.first()?.chars().next()?,
            pgrp: f.get(2)?.parse().ok()?,
            start_ticks: f.get(19)?.parse().ok()?,
        })
    }

    pub fn of(pid: i32) -> Option<Stat> {
        if pid <= 0 {
            return None;
        }
        Stat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }
}

/// This boot's id; empty where the kernel does not say.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

impl Identity {
    /// The live (non-zombie) process `pid`, if there is one.
    pub fn of(pid: i32) -> Option<Identity> {
        let stat = Stat::of(pid).filter(|s| !s.is_zombie())?;
        Some(Identity {
            pid,
            start_ticks: stat.start_ticks,
            boot_id: boot_id(),
        })
    }

    /// This process.
    pub fn current() -> Option<Identity> {
        Identity::of(std::process::id() as i32)
    }

    /// Whether this very process still runs (not a reuse of its pid).
    pub fn is_alive(&self) -> bool {
        Identity::of(self.pid).is_some_and(|now| now == *self)
    }
}

/// The live members of process group `pgid`, from `/proc`.
pub fn group_members(pgid: i32) -> Vec<(i32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, Stat::of(pid)?)))
        .filter(|(_, s)| s.pgrp == pgid && !s.is_zombie())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_awkward_command_name() {
        let line = "4242 (a) b (c)) S 1 4240 4240 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 123456 2412544 230 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = Stat::parse(line).unwrap();
        assert_eq!(
            s,
            Stat {
                state: 'S',
                pgrp: 4240,
                start_ticks: 123456
            }
        );
        assert!(Stat::parse("4242 (trunc").is_none());
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not_the_same_process() {
        let me = Identity::current().unwrap();
        assert!(me.is_alive());
        let later = Identity {
            start_ticks: me.start_ticks + 1,
            ..me.clone()
        };
        assert!(!later.is_alive());
        let other_boot = Identity {
            boot_id: "another-boot".into(),
            ..me
        };
        assert!(!other_boot.is_alive());
    }

    #[test]
    fn a_reaped_child_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(Identity::of(pid).is_none());
    }
}
