//! Greenlet A/B ping-pong: two greenlets switch to each other explicitly.
//! Seed: 001 (使用greenlet实现: test1/test2 printing ---A--- / ---B--- and switching)
//! Example: 001 § 使用greenlet实现 — gr1 = greenlet(test1)
//!
//! A greenlet is a coroutine that names where control goes next: `gr2.switch()` pauses
//! the current greenlet and resumes `gr2` exactly where it paused (its own `switch`
//! call returns). Unlike a generator there is no caller/callee: the switches are
//! symmetric. When a greenlet's function returns, control goes to its *parent* (the
//! greenlet that created it — here the main one).
//!
//! The seed loops forever with `time.sleep(0.5)`; here `test1` takes four turns and
//! then returns, which sends control back to `main`. `test2` is left paused in its
//! `switch`; `kill()` unwinds it (its destructors run).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use skein_coroutine::Greenlet;

fn main() {
    // gr1's function needs gr2 before gr2 exists, as the seed's globals do: a shared slot.
    let gr2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();

    let slot = gr2_slot.clone();
    let gr1 = Greenlet::new(move |()| {
        for _ in 0..4 {
            println!("---A---");
            let gr2 = slot
                .borrow()
                .clone()
                .expect("gr2 is set before the first switch");
            gr2.switch(());
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("test1 returns: control goes to its parent, main");
    });

    let g1 = gr1.clone();
    let gr2 = Greenlet::new(move |()| {
        loop {
            println!("---B---");
            g1.switch(());
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    *gr2_slot.borrow_mut() = Some(gr2.clone());

    gr1.switch(()); // Python: gr1.switch()
    println!(
        "back in main: gr1 dead = {}, gr2 dead = {}",
        gr1.is_dead(),
        gr2.is_dead()
    );
    gr2_slot.borrow_mut().take();
    gr2.kill().expect("gr2 is paused, not running");
    println!("after kill: gr2 dead = {}", gr2.is_dead());
}
