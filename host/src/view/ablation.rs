//! The educator's live ablation as logic: where the antenna is, the setting, the play
//! clock, and which command the plugin session should get next. The viewer's widget
//! (`app::ablation`) only turns clicks, drags and buttons into calls here, sends what
//! [`LiveAblation::next`] returns and hands back the replies.
//!
//! One command (or, while dragging, one update and its zone) is in flight at a time.
//! Changes made meanwhile (a drag moves the tip sixty times a second) only overwrite the
//! pending parameters, so the session always works on the latest position and never
//! falls behind: the zone follows the antenna at whatever rate an update takes. While an
//! end is dragged the grid is coarse, and each update is sent with a zero-length step
//! behind it, which streams the zone without the meshes and margins an output computes;
//! on release the full grid comes back and an output follows.

use std::collections::{BTreeMap, VecDeque};

/// Which end of the antenna.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Tip,
    Entry,
}

impl End {
    pub fn param(self) -> &'static str {
        match self {
            End::Tip => "tip",
            End::Entry => "entry",
        }
    }
}

/// What the session should do next (the widget turns it into a session command).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Changed parameters as `name=value` texts.
    Update(Vec<(String, String)>),
    /// Simulated seconds (0: stream the current zone).
    Advance(f64),
    Output,
    Reset,
}

/// What a reply said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Replied {
    /// The session's clock: simulated time and the planned time, seconds.
    Clock { time_s: f64, horizon_s: f64 },
    /// An output arrived (applied to the scene by the widget).
    Output,
    /// The session refused or failed the command (the widget logs why).
    Failed,
}

/// Wall-clock seconds between full outputs (meshes, margins, report) while playing.
pub const OUTPUT_EVERY_S: f64 = 1.0;
/// Longest step of simulated time sent at once while playing, in wall seconds of play:
/// keeps pause and scrub responsive.
const MAX_STEP_WALL_S: f64 = 0.25;

#[derive(Debug, Clone)]
pub struct LiveAblation {
    pub tip: Option<[f64; 3]>,
    pub entry: Option<[f64; 3]>,
    /// Simulated seconds per wall-clock second while playing.
    pub speed: f64,
    pub playing: bool,
    pub time_s: f64,
    pub horizon_s: f64,
    /// The end being dragged, if any.
    pub dragging: Option<End>,
    /// Simulation grid when released and while dragging, mm.
    pub full_grid_mm: f64,
    pub drag_grid_mm: f64,
    /// Parameters changed since the last update, latest value each.
    changed: BTreeMap<String, String>,
    /// Sent and not yet answered, oldest first.
    in_flight: VecDeque<Step>,
    /// Simulated seconds the play clock owes the simulation.
    owed_s: f64,
    /// Where a scrub wants the clock.
    scrub_to: Option<f64>,
    /// An output is due (after an update or a step, or when play stops).
    output_due: bool,
    last_output_at: f64,
    /// Wall times of zone updates while dragging, for the rate shown and benchmarked.
    drag_updates: Vec<f64>,
    /// Play stops here (seconds) rather than at the planned time.
    stop_at: Option<f64>,
    grid_now: f64,
}

impl LiveAblation {
    /// A session's controls before the antenna is placed. `time_min` sets the horizon.
    pub fn new(time_min: f64, full_grid_mm: f64) -> Self {
        LiveAblation {
            tip: None,
            entry: None,
            speed: 30.0,
            playing: false,
            time_s: 0.0,
            horizon_s: time_min * 60.0,
            dragging: None,
            full_grid_mm,
            drag_grid_mm: 4.0,
            changed: BTreeMap::new(),
            in_flight: VecDeque::new(),
            owed_s: 0.0,
            scrub_to: None,
            output_due: false,
            last_output_at: f64::NEG_INFINITY,
            drag_updates: Vec::new(),
            stop_at: None,
            grid_now: full_grid_mm,
        }
    }

    pub fn placed(&self) -> bool {
        self.tip.is_some() && self.entry.is_some()
    }

    /// Is the session busy with a command?
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Nothing in flight or pending: the state shown is the state asked for.
    pub fn settled(&self) -> bool {
        self.in_flight.is_empty() && self.changed.is_empty() && self.scrub_to.is_none() && !self.output_due && !self.playing
    }

    /// Any parameter (power, time, antenna, criterion...) as its text.
    pub fn set_param(&mut self, name: &str, value: String) {
        if name == "time" {
            if let Ok(m) = value.parse::<f64>() {
                self.horizon_s = m * 60.0;
            }
        }
        self.changed.insert(name.to_string(), value);
    }

    /// Places or moves one end of the antenna (world mm, RAS+).
    pub fn set_end(&mut self, end: End, p: [f64; 3]) {
        match end {
            End::Tip => self.tip = Some(p),
            End::Entry => self.entry = Some(p),
        }
        self.changed.insert(end.param().into(), format!("{:.2},{:.2},{:.2}", p[0], p[1], p[2]));
    }

    /// A click while placing: the first places the tip (the target), the next the entry
    /// (on the skin); later clicks move whichever end is nearer. Returns the end placed.
    pub fn click(&mut self, p: [f64; 3]) -> End {
        let end = match (self.tip, self.entry) {
            (None, _) => End::Tip,
            (Some(_), None) => End::Entry,
            (Some(t), Some(e)) => {
                if dist(p, t) <= dist(p, e) {
                    End::Tip
                } else {
                    End::Entry
                }
            }
        };
        self.set_end(end, p);
        end
    }

    pub fn begin_drag(&mut self, end: End, now: f64) {
        self.dragging = Some(end);
        self.drag_updates.clear();
        self.drag_updates.push(now);
    }

    /// The drag ends: the full grid comes back, and with it the meshes and margins.
    pub fn end_drag(&mut self) {
        self.dragging = None;
        self.output_due = true;
    }

    /// Zone updates per second over the current (or last) drag.
    pub fn drag_rate(&self) -> Option<f64> {
        let n = self.drag_updates.len();
        (n >= 3).then(|| (n - 1) as f64 / (self.drag_updates[n - 1] - self.drag_updates[0]).max(1e-9))
    }

    pub fn drag_updates(&self) -> usize {
        self.drag_updates.len().saturating_sub(1)
    }

    pub fn play(&mut self) {
        if self.time_s + 0.5 < self.horizon_s {
            self.playing = true;
        }
    }

    /// Plays from the current time to `t_s` (at most the planned time) and pauses there.
    pub fn play_to(&mut self, t_s: f64) {
        self.stop_at = Some(t_s.min(self.horizon_s));
        if t_s > self.time_s + 0.5 {
            self.playing = true;
        }
    }

    pub fn pause(&mut self) {
        self.playing = false;
        self.owed_s = 0.0;
        self.output_due = true;
    }

    /// One step of simulated time while paused.
    pub fn step(&mut self, seconds: f64) {
        self.scrub((self.time_s + seconds).min(self.horizon_s));
    }

    /// Moves the clock to `t_s`: forward by advancing, back by replaying from zero (the
    /// simulation cannot run backwards).
    pub fn scrub(&mut self, t_s: f64) {
        self.scrub_to = Some(t_s.clamp(0.0, self.horizon_s));
        self.owed_s = 0.0;
    }

    pub fn reset(&mut self) {
        self.playing = false;
        self.scrub(0.0);
    }

    /// The next commands, in order: none while some are in flight or nothing is to do,
    /// one, or (while dragging) an update and the zero-length step that streams its
    /// zone. `now` is wall-clock seconds, `dt` the wall time since the last call.
    pub fn next(&mut self, now: f64, dt: f64) -> Vec<Step> {
        if self.playing {
            self.owed_s += dt * self.speed;
        }
        if !self.in_flight.is_empty() {
            return Vec::new();
        }
        let want_grid = if self.dragging.is_some() { self.drag_grid_mm } else { self.full_grid_mm };
        if want_grid != self.grid_now {
            self.changed.insert("grid".into(), format!("{want_grid}"));
        }
        let step = if !self.changed.is_empty() {
            let changed = std::mem::take(&mut self.changed);
            if let Some(g) = changed.get("grid").and_then(|g| g.parse().ok()) {
                self.grid_now = g;
            }
            Step::Update(changed.into_iter().collect())
        } else if !self.placed() {
            return Vec::new();
        } else if let Some(t) = self.scrub_to {
            if t + 1e-6 < self.time_s {
                // Replay from zero; the scrub stays pending until the clock is there.
                Step::Reset
            } else {
                self.scrub_to = None;
                self.output_due = true;
                Step::Advance(t - self.time_s)
            }
        } else if self.output_due && self.dragging.is_none() && (!self.playing || now - self.last_output_at >= OUTPUT_EVERY_S) {
            self.output_due = false;
            self.last_output_at = now;
            Step::Output
        } else if self.playing && self.owed_s >= 0.5 {
            let end = self.stop_at.unwrap_or(self.horizon_s).min(self.horizon_s);
            let seconds = self.owed_s.min(self.speed * MAX_STEP_WALL_S).min(end - self.time_s);
            self.owed_s -= seconds;
            self.output_due = true;
            Step::Advance(seconds.max(0.0))
        } else {
            return Vec::new();
        };
        self.in_flight.push_back(step.clone());
        if matches!(step, Step::Update(_)) && self.dragging.is_some() && self.placed() {
            // Stream the zone at once, without meshes (see the module doc).
            self.in_flight.push_back(Step::Advance(0.0));
        }
        self.in_flight.iter().cloned().collect()
    }

    /// The reply to the command in flight. `now` is wall-clock seconds.
    pub fn replied(&mut self, reply: Replied, now: f64) {
        let sent = self.in_flight.pop_front();
        match reply {
            Replied::Clock { time_s, horizon_s } => {
                self.time_s = time_s;
                self.horizon_s = horizon_s;
                let end = self.stop_at.unwrap_or(horizon_s).min(horizon_s);
                if self.playing && time_s + 0.5 >= end {
                    self.playing = false;
                    self.stop_at = None;
                    self.owed_s = 0.0;
                    self.output_due = true;
                }
                match sent {
                    Some(Step::Update(_)) if self.dragging.is_some() => {}
                    Some(Step::Update(_)) => self.output_due = true,
                    Some(Step::Advance(s)) if s == 0.0 && self.dragging.is_some() => self.drag_updates.push(now),
                    _ => {}
                }
            }
            Replied::Output => {}
            Replied::Failed => {
                self.playing = false;
                self.scrub_to = None;
            }
        }
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one command `next` gives (none, or a panic when it gives more).
    fn one(steps: Vec<Step>) -> Option<Step> {
        assert!(steps.len() <= 1, "{steps:?}");
        steps.into_iter().next()
    }

    fn clock(t: f64, h: f64) -> Replied {
        Replied::Clock { time_s: t, horizon_s: h }
    }

    /// Placed at 5 min on a 1.5 mm grid, the first update and output answered.
    fn placed() -> LiveAblation {
        let mut l = LiveAblation::new(5.0, 1.5);
        assert_eq!(one(l.next(0.0, 0.0)), None, "nothing to do before the antenna is placed");
        assert_eq!(l.click([10.0, 0.0, 0.0]), End::Tip);
        assert_eq!(l.click([60.0, 0.0, 0.0]), End::Entry);
        let Some(Step::Update(p)) = one(l.next(0.0, 0.0)) else { panic!() };
        assert_eq!(p, vec![("entry".into(), "60.00,0.00,0.00".into()), ("tip".into(), "10.00,0.00,0.00".into())]);
        assert_eq!(one(l.next(0.0, 0.0)), None, "one command at a time");
        l.replied(clock(0.0, 300.0), 0.0);
        assert_eq!(one(l.next(0.0, 0.0)), Some(Step::Output));
        l.replied(Replied::Output, 0.0);
        assert!(l.settled());
        l
    }

    #[test]
    fn clicks_place_the_tip_then_the_entry_then_move_the_nearer_end() {
        let mut l = placed();
        assert_eq!(l.click([55.0, 5.0, 0.0]), End::Entry);
        assert_eq!(l.click([12.0, 0.0, 0.0]), End::Tip);
        assert_eq!(l.tip, Some([12.0, 0.0, 0.0]));
        assert!(matches!(one(l.next(0.0, 0.0)), Some(Step::Update(p)) if p.len() == 2));
    }

    #[test]
    fn a_drag_sends_only_the_latest_position_on_the_coarse_grid_then_streams_the_zone() {
        let mut l = placed();
        l.begin_drag(End::Tip, 1.0);
        l.set_end(End::Tip, [11.0, 0.0, 0.0]);
        let sent = l.next(1.0, 0.016);
        let [Step::Update(first), Step::Advance(zero)] = &sent[..] else { panic!("{sent:?}") };
        assert!(first.contains(&("grid".into(), "4".into())) && *zero == 0.0, "the update and the step that streams its zone: {sent:?}");
        // Meanwhile the mouse moves on: only the last position is kept.
        for x in 12..20 {
            l.set_end(End::Tip, [x as f64, 0.0, 0.0]);
            assert!(l.next(1.0, 0.016).is_empty());
        }
        l.replied(clock(0.0, 300.0), 1.02);
        assert!(l.next(1.02, 0.016).is_empty(), "its zone still to come");
        l.replied(clock(0.0, 300.0), 1.03);
        assert_eq!(l.next(1.03, 0.016), vec![Step::Update(vec![("tip".into(), "19.00,0.00,0.00".into())]), Step::Advance(0.0)]);
        l.replied(clock(0.0, 300.0), 1.05);
        l.replied(clock(0.0, 300.0), 1.06);
        assert_eq!(l.drag_updates(), 2);
        assert!((l.drag_rate().unwrap() - 2.0 / 0.06).abs() < 1e-6);
        // Released: the full grid, then the meshes and margins.
        l.end_drag();
        assert_eq!(one(l.next(1.1, 0.016)), Some(Step::Update(vec![("grid".into(), "1.5".into())])));
        l.replied(clock(0.0, 300.0), 1.2);
        assert_eq!(one(l.next(1.2, 0.016)), Some(Step::Output));
    }

    #[test]
    fn playing_advances_by_the_speed_outputs_now_and_then_and_stops_at_the_planned_time() {
        let mut l = placed();
        l.speed = 60.0;
        l.play();
        assert_eq!(one(l.next(1.0, 0.1)), Some(Step::Advance(6.0)));
        l.replied(clock(6.0, 300.0), 1.1);
        // An output is due; the first comes at once, later ones at most once a second.
        assert_eq!(one(l.next(1.1, 0.1)), Some(Step::Output));
        l.replied(Replied::Output, 1.2);
        assert_eq!(one(l.next(1.2, 0.1)), Some(Step::Advance(12.0)), "the owed time, capped at a quarter second of play");
        l.replied(clock(18.0, 300.0), 1.3);
        assert!(matches!(one(l.next(1.3, 0.1)), Some(Step::Advance(_))), "no output within a second of the last");
        // Near the end: the output due (a second on), then no step past the planned time,
        // and play stops there.
        l.replied(clock(295.0, 300.0), 1.4);
        assert_eq!(one(l.next(2.5, 0.1)), Some(Step::Output));
        l.replied(Replied::Output, 2.5);
        let Some(Step::Advance(s)) = one(l.next(2.5, 0.1)) else { panic!() };
        assert!(s <= 5.0 + 1e-9, "{s}");
        l.replied(clock(300.0, 300.0), 2.6);
        assert!(!l.playing);
        assert_eq!(one(l.next(2.6, 0.1)), Some(Step::Output));
    }

    #[test]
    fn play_to_stops_at_the_asked_time() {
        let mut l = placed();
        l.speed = 120.0;
        l.play_to(60.0);
        assert!(l.playing);
        assert_eq!(one(l.next(1.0, 1.0)), Some(Step::Advance(30.0)), "a quarter second of play at 120x");
        l.replied(clock(30.0, 300.0), 1.1);
        one(l.next(1.1, 0.0));
        l.replied(Replied::Output, 1.1);
        assert_eq!(one(l.next(2.0, 1.0)), Some(Step::Advance(30.0)), "no step past the stop");
        l.replied(clock(60.0, 300.0), 2.1);
        assert!(!l.playing);
        assert_eq!(one(l.next(3.5, 1.0)), Some(Step::Output));
        l.replied(Replied::Output, 3.5);
        assert!(l.settled());
    }

    #[test]
    fn scrubbing_back_replays_from_zero_and_a_failure_stops_play() {
        let mut l = placed();
        l.scrub(120.0);
        assert_eq!(one(l.next(0.0, 0.0)), Some(Step::Advance(120.0)));
        l.replied(clock(120.0, 300.0), 0.1);
        assert_eq!(one(l.next(0.1, 0.0)), Some(Step::Output));
        l.replied(Replied::Output, 0.2);
        l.scrub(60.0);
        assert_eq!(one(l.next(0.2, 0.0)), Some(Step::Reset));
        l.replied(clock(0.0, 300.0), 0.3);
        assert_eq!(one(l.next(0.3, 0.0)), Some(Step::Advance(60.0)));
        l.replied(clock(60.0, 300.0), 0.4);
        // A longer planned time moves the horizon at once.
        l.set_param("time", "10".into());
        assert_eq!(l.horizon_s, 600.0);
        l.play();
        assert_eq!(one(l.next(0.5, 0.0)), Some(Step::Update(vec![("time".into(), "10".into())])));
        l.replied(Replied::Failed, 0.7);
        assert!(!l.playing);
    }
}
