//! `molt-state`: runs the default workload, init/shutdown cycles, and inspection commands.

mod classes;
mod cycle;
mod run;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "Init, exercise and tear down molt-state runtimes")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Bounds of `cycle`'s arguments: clap refuses values outside them with a usage error,
/// instead of the program aborting (100,000 threads) or panicking (a timing buffer of 2^64
/// entries).
const MAX_CYCLES: u64 = 10_000_000;
const MAX_THREADS: i64 = 1024;
const MAX_ALLOC_THREADS: i64 = 64;
const MAX_TASKS: i64 = 100_000;

#[derive(Subcommand)]
enum Command {
    /// Init a runtime on the embedded default config, run a workload that touches every
    /// sub-state, shut down, and print the teardown report (the default command).
    Run,
    /// Run N init/shutdown cycles and print cycle-time percentiles and RSS before/after.
    Cycle {
        /// Number of cycles (in total, over all threads; 1 to 10,000,000: each cycle's time
        /// is kept for the percentiles).
        #[arg(short = 'n', long, default_value_t = 10_000,
              value_parser = clap::value_parser!(u64).range(1..=MAX_CYCLES))]
        cycles: u64,
        /// Threads running cycles side by side, each with its own runtimes (1 to 1024).
        #[arg(long, default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=MAX_THREADS))]
        threads: u32,
        /// In each cycle, this many extra threads allocate objects from the runtime (one of
        /// them left alive for shutdown to reclaim) and exit before it shuts down (0 to 64).
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=MAX_ALLOC_THREADS))]
        alloc_threads: u32,
        /// In each cycle, spawn this many tasks (a quarter sleeping, a quarter on a long
        /// timer, a quarter cancelled, a quarter run and some joined) before shutdown, which
        /// cancels what is left and joins the worker threads (0 to 100,000).
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=MAX_TASKS))]
        tasks: u32,
        /// Exit non-zero if anonymous RSS grows by more than this many KiB (Linux).
        #[arg(long)]
        max_anon_growth_kib: Option<i64>,
    },
    /// Print the builtin classes with their bases and MRO (as CPython 3.11 has them).
    Classes {
        /// Print JSON (one object per class: name, bases, mro) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Exits quietly when stdout is closed early (e.g. piped into `head`) instead of panicking.
fn reset_sigpipe_behaviour() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

fn main() -> ExitCode {
    reset_sigpipe_behaviour();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run::run(),
        Command::Cycle {
            cycles,
            threads,
            alloc_threads,
            tasks,
            max_anon_growth_kib,
        } => cycle::cycle(cycles, threads, alloc_threads, tasks, max_anon_growth_kib),
        Command::Classes { json } => classes::classes(json),
    }
}
