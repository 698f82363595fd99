//! Streaming a response body that a background thread produces.

use std::io::{self, BufWriter, Read, Write};

use log::debug;

/// Bytes buffered before they go to the client.
const BUFFER_LEN: usize = 64 * 1024;

/// Runs `produce` on a new thread and returns a reader of what it writes. The thread ends when
/// `produce` returns or the client goes away (its next write fails).
pub fn spawn<F>(produce: F) -> io::Result<Box<dyn Read + Send>>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static,
{
    let (reader, writer) = io::pipe()?;
    std::thread::spawn(move || {
        let mut writer = BufWriter::with_capacity(BUFFER_LEN, writer);
        let result = produce(&mut writer).and_then(|()| writer.flush());
        if let Err(error) = result {
            debug!("streamed response ended early: {error}");
        }
    });
    Ok(Box::new(reader))
}
