//! Shared by the process-pool test files (`#[macro_use] mod common;`).

/// The start-method matrix: `matrix!(a, b)` makes one `#[test]` per scenario per method —
/// `fork::a`, `spawn::a`, `forkserver::a`, … — each calling `super::a(method)`.
/// `matrix!(under super::watchdog; a, b)` runs each as `watchdog("a", || a(method))`.
macro_rules! matrix {
    (under $wrap:path; $($name:ident),* $(,)?) => {
        mod fork {
            $( #[test] fn $name() { $wrap(stringify!($name), || super::$name(skein_process::StartMethod::Fork)) } )*
        }
        mod spawn {
            $( #[test] fn $name() { $wrap(stringify!($name), || super::$name(skein_process::StartMethod::Spawn)) } )*
        }
        mod forkserver {
            $( #[test] fn $name() { $wrap(stringify!($name), || super::$name(skein_process::StartMethod::Forkserver)) } )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod fork {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Fork) } )*
        }
        mod spawn {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Spawn) } )*
        }
        mod forkserver {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Forkserver) } )*
        }
    };
}
