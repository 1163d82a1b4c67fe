//! The election loop against a scripted record, in virtual time: what a holder does when it
//! loses the Lease, cannot renew it, or its work fails — always a candidate again, never done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// What the record answers every candidate attempt from now on.
#[derive(Clone, Copy)]
enum Answer {
    Held,
    HeldByOther,
    Unreachable,
}

#[derive(Clone)]
struct FakeLock {
    answer: Arc<Mutex<Answer>>,
    releases: Arc<AtomicUsize>,
    /// The Lease's name, one per test: tests may share the process and its metrics.
    name: String,
}

impl Lock for FakeLock {
    async fn try_acquire_or_renew(&self) -> Result<Attempt, kube::Error> {
        match *self.answer.lock().unwrap() {
            Answer::Held => Ok(Attempt::Held),
            Answer::HeldByOther => Ok(Attempt::HeldBy("other".into())),
            Answer::Unreachable => Err(kube::Error::Api(kube::core::ErrorResponse {
                status: "Failure".into(),
                message: "the server is currently unable to handle the request".into(),
                reason: "ServiceUnavailable".into(),
                code: 503,
            })),
        }
    }

    async fn release(&self) {
        self.releases.fetch_add(1, Ordering::SeqCst);
    }

    fn describe(&self) -> String {
        format!("kube-system/{}", self.name)
    }
}

/// Work that counts its starts and its running copies, and panics as often as told first.
#[derive(Clone, Default)]
struct Work {
    started: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    panics: Arc<AtomicUsize>,
}

/// One running copy of the work, counted until dropped (by abort, panic or return).
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Work {
    fn start(&self) -> impl Future<Output = ()> + Send + use<> {
        let work = self.clone();
        async move {
            work.started.fetch_add(1, Ordering::SeqCst);
            work.running.fetch_add(1, Ordering::SeqCst);
            let _live = Live(work.running.clone());
            let panic = work
                .panics
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            assert!(!panic, "the work failed (as the test asks)");
            std::future::pending::<()>().await;
        }
    }

    /// (started, running)
    fn counts(&self) -> (usize, usize) {
        (
            self.started.load(Ordering::SeqCst),
            self.running.load(Ordering::SeqCst),
        )
    }
}

struct Candidate {
    answer: Arc<Mutex<Answer>>,
    name: String,
    releases: Arc<AtomicUsize>,
    work: Work,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Candidate {
    fn start(work: Work) -> Self {
        static LEASES: AtomicUsize = AtomicUsize::new(0);
        let lock = FakeLock {
            answer: Arc::new(Mutex::new(Answer::Held)),
            releases: Arc::default(),
            name: format!("test-{}", LEASES.fetch_add(1, Ordering::SeqCst)),
        };
        let (answer, releases, name) = (
            lock.answer.clone(),
            lock.releases.clone(),
            lock.name.clone(),
        );
        let election = Election {
            lock,
            timings: Timings::default(),
        };
        let (stop, stopped) = watch::channel(false);
        let copy = work.clone();
        let task = tokio::spawn(async move { election.run(move || copy.start(), stopped).await });
        Self {
            answer,
            name,
            releases,
            work,
            stop,
            task,
        }
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// `leader_election_master_status` of its Lease.
    fn leading(&self) -> i64 {
        metrics::status(&self.name).get()
    }

    fn releases(&self) -> usize {
        self.releases.load(Ordering::SeqCst)
    }

    /// Stops the election, which must end with its work; how often the Lease was given up.
    async fn stop(self) -> usize {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
        assert_eq!(self.work.counts().1, 0, "the work outlived the election");
        self.releases.load(Ordering::SeqCst)
    }
}

async fn after(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[tokio::test(start_paused = true)]
async fn a_holder_whose_lease_is_taken_stops_its_work_and_leads_again_once_it_wins_it_back() {
    let candidate = Candidate::start(Work::default());
    after(100).await;
    assert_eq!(candidate.work.counts(), (1, 1));
    assert_eq!(candidate.leading(), 1);

    candidate.answer(Answer::HeldByOther);
    after(2_000).await; // the next renewal finds another holder
    assert_eq!(
        candidate.work.counts(),
        (1, 0),
        "still working without the lease"
    );
    assert_eq!(candidate.leading(), 0);

    after(10_000).await; // a candidate meanwhile, however long
    assert_eq!(candidate.work.counts(), (1, 0));
    candidate.answer(Answer::Held);
    after(2_000).await;
    assert_eq!(candidate.work.counts(), (2, 1), "not leading again");
    assert_eq!(candidate.stop().await, 1, "the lease is kept at shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_holder_that_cannot_renew_works_on_until_the_deadline_then_stands_again() {
    let candidate = Candidate::start(Work::default());
    after(100).await;
    candidate.answer(Answer::Unreachable);
    // Renewals fail from 2 s on; the work goes on for the renew deadline (10 s), as client-go's.
    after(9_000).await;
    assert_eq!(
        candidate.work.counts(),
        (1, 1),
        "stopped before the deadline"
    );
    after(4_000).await;
    assert_eq!(
        candidate.work.counts(),
        (1, 0),
        "still working past the deadline"
    );

    candidate.answer(Answer::Held);
    after(2_000).await;
    assert_eq!(candidate.work.counts(), (2, 1), "not leading again");
    assert_eq!(candidate.stop().await, 1);
}

#[tokio::test(start_paused = true)]
async fn work_that_panics_is_started_again_after_the_lease_is_given_up_and_won_back() {
    let work = Work::default();
    work.panics.store(2, Ordering::SeqCst);
    let candidate = Candidate::start(work);
    after(100).await;
    assert_eq!(candidate.work.counts(), (1, 0));
    assert_eq!(
        candidate.releases(),
        1,
        "the lease is kept by work that is gone"
    );
    after(4_000).await;
    assert_eq!(
        candidate.work.counts(),
        (3, 1),
        "the work is not started again"
    );
    assert_eq!(candidate.stop().await, 3);
}

#[tokio::test(start_paused = true)]
async fn a_candidate_stops_when_asked_even_while_it_cannot_take_the_lease() {
    let candidate = Candidate::start(Work::default());
    candidate.answer(Answer::HeldByOther);
    after(100).await;
    candidate.answer(Answer::Unreachable);
    after(5_000).await;
    assert_eq!(candidate.work.counts(), (0, 0));
    assert_eq!(candidate.stop().await, 0, "nothing to give up");
}
