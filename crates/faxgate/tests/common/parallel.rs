#![allow(dead_code)]

//! Running real-time cases side by side: each fax call takes tens of seconds of wall
//! time but almost no CPU, so a matrix of them runs in threads at once.

/// Runs `run(index, case)` for every case on its own thread and returns the results in
/// case order.
pub fn side_by_side<C: Sync, T: Send>(cases: &[C], run: impl Fn(usize, &C) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(index, case)| {
                let run = &run;
                scope.spawn(move || run(index, case))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a case thread panicked"))
            .collect()
    })
}
