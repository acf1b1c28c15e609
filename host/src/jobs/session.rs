//! Interactive plugin sessions off the calling thread: a session lives on a thread of
//! its own; callers send [`Command`]s and read [`JobEvent`]s, exactly as for a job
//! (progress, logs, validated partial results), plus one [`Reply`] per command.
//!
//! Commands run in order. `cancel()` stops the command now running (the plugin answers
//! `Cancelled` and stays usable at the time it reached); the flag is lifted before the
//! next command. A panic in the plugin ends the session on the plugin's side (every
//! later command answers with an error) and never reaches the host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use abi_stable::std_types::RVec;
use crossbeam_channel::{Receiver, Sender, unbounded};
use isotherm_sdk::abi::{ErrorKind, NamedParam, PluginError, RunOutput, RunRequest, SessionBox, SessionClock, host_ref, sink_ref};

use super::{JobError, JobEvent, JobHost, validate_output};
use crate::loader::LoadedPlugin;

/// What the host asks of an open session.
#[derive(Debug, Clone)]
pub enum Command {
    /// Changed parameters, resolved and checked (`params::resolve_changes`).
    Update(RVec<NamedParam>),
    /// Simulated seconds to advance.
    Advance(f64),
    /// The node changes of the current state.
    Output,
    Reset,
}

/// A command's answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Clock(SessionClock),
    Output(RunOutput),
}

/// The caller's side of an open session. Dropping it closes the session.
pub struct SessionHandle {
    commands: Sender<Command>,
    /// Progress, logs and partial results while commands run.
    pub events: Receiver<JobEvent>,
    /// One reply per command, in order.
    pub replies: Receiver<Result<Reply, JobError>>,
    cancel: Arc<AtomicBool>,
}

impl SessionHandle {
    /// Opens a session of `plugin` on `request` (inputs and parameters resolved as for a
    /// run) on a new thread. Blocks until the plugin has opened it or refused.
    pub fn open(plugin: Arc<LoadedPlugin>, request: RunRequest) -> Result<SessionHandle, JobError> {
        let (events, event_rx) = unbounded();
        let (commands, command_rx) = unbounded::<Command>();
        let (replies, reply_rx) = unbounded();
        let (opened, opened_rx) = unbounded::<Result<(), JobError>>();
        let cancel = Arc::new(AtomicBool::new(false));
        let host = JobHost { events, cancel: cancel.clone(), deadline: None };
        let flag = cancel.clone();
        thread::Builder::new()
            .name(format!("isotherm-session-{}", plugin.id()))
            .spawn(move || {
                let mut session: SessionBox = match plugin.call_open_session(&request, host_ref(&host)) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = opened.send(Err(plugin_error(e)));
                        return;
                    }
                };
                drop(request);
                let _ = opened.send(Ok(()));
                for command in command_rx.iter() {
                    flag.store(false, Ordering::SeqCst);
                    let h = host_ref(&host);
                    let reply = match command {
                        Command::Update(params) => session.update(params, h).into_result().map(Reply::Clock),
                        Command::Advance(s) => session.advance(s, h, sink_ref(&host)).into_result().map(Reply::Clock),
                        Command::Reset => session.reset(h).into_result().map(Reply::Clock),
                        Command::Output => session.output(h).into_result().map(Reply::Output),
                    };
                    let reply = reply.map_err(plugin_error).and_then(|r| match r {
                        Reply::Output(o) => validate_output(&o).map(|_| Reply::Output(o)).map_err(JobError::InvalidOutput),
                        other => Ok(other),
                    });
                    if replies.send(reply).is_err() {
                        break;
                    }
                }
                // The caller hung up: the session closes here (the plugin's destructor runs
                // inside its own panic guard).
                drop(session);
            })
            .map_err(|_| JobError::Lost)?;
        opened_rx.recv().map_err(|_| JobError::Lost)??;
        Ok(SessionHandle { commands, events: event_rx, replies: reply_rx, cancel })
    }

    /// Queues a command; its reply arrives on `replies`.
    pub fn send(&self, command: Command) -> Result<(), JobError> {
        self.commands.send(command).map_err(|_| JobError::Lost)
    }

    /// Sends a command and waits for its reply, passing events to `on_event` meanwhile.
    pub fn call(&self, command: Command, mut on_event: impl FnMut(&JobEvent)) -> Result<Reply, JobError> {
        self.send(command)?;
        loop {
            crossbeam_channel::select! {
                recv(self.events) -> e => if let Ok(e) = e { on_event(&e) },
                recv(self.replies) -> r => {
                    for e in self.events.try_iter() {
                        on_event(&e);
                    }
                    return r.map_err(|_| JobError::Lost)?;
                }
            }
        }
    }

    /// Stops the command now running.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

fn plugin_error(e: PluginError) -> JobError {
    if e.kind == ErrorKind::Cancelled { JobError::Cancelled } else { JobError::Plugin(e) }
}
