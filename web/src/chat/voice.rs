//! Voice clips recorded in the app: the microphone through MediaRecorder,
//! in the first format of [`FORMATS`] the browser records (AAC in MP4
//! first, which iOS Safari plays; Opus otherwise), with the clip's length
//! and a waveform measured while it records (an analyser's peak every
//! 100 ms, folded into at most `model::chat_limits::WAVEFORM_BARS` bars),
//! so no device decodes a clip to draw it.

use std::{cell::RefCell, rc::Rc};

use gloo_timers::callback::Interval;
use wasm_bindgen::{JsCast, closure::Closure};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use yew::prelude::*;

/// What MediaRecorder is asked for, best first, and the type the file is
/// stored as (without its codec).
const FORMATS: [(&str, &str); 4] = [
    ("audio/mp4;codecs=mp4a.40.2", "audio/mp4"),
    ("audio/mp4", "audio/mp4"),
    ("audio/webm;codecs=opus", "audio/webm"),
    ("audio/ogg;codecs=opus", "audio/ogg"),
];

/// A clip as recorded.
pub struct Clip {
    pub blob: web_sys::Blob,
    pub content_type: String,
    pub duration_ms: u32,
    pub waveform: Vec<u8>,
}

/// Folds peaks (0 to 255, one per 100 ms) into at most `bars` bars, each
/// the loudest of its span.
pub fn fold(peaks: &[u8], bars: usize) -> Vec<u8> {
    if peaks.len() <= bars {
        return peaks.to_vec();
    }
    (0..bars)
        .map(|i| {
            let (from, to) = (i * peaks.len() / bars, (i + 1) * peaks.len() / bars);
            peaks[from..to.max(from + 1)]
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// A recording under way: what must be stopped and let go of.
struct Recording {
    recorder: web_sys::MediaRecorder,
    stream: web_sys::MediaStream,
    audio: web_sys::AudioContext,
    started: f64,
    peaks: Rc<RefCell<Vec<u8>>>,
    chunks: Rc<RefCell<Vec<web_sys::Blob>>>,
    content_type: String,
    _sampling: Interval,
    _on_data: Closure<dyn FnMut(web_sys::BlobEvent)>,
}

impl Recording {
    async fn start() -> Result<Recording, String> {
        let window = web_sys::window().ok_or("no window")?;
        let devices = window
            .navigator()
            .media_devices()
            .map_err(|_| "this browser cannot record sound")?;
        let constraints = web_sys::MediaStreamConstraints::new();
        constraints.set_audio(&true.into());
        let stream: web_sys::MediaStream = JsFuture::from(
            devices
                .get_user_media_with_constraints(&constraints)
                .map_err(|_| "this browser cannot record sound")?,
        )
        .await
        .map_err(|_| "the microphone was not allowed")?
        .dyn_into()
        .map_err(|_| "no microphone")?;
        let (mime, content_type) = FORMATS
            .iter()
            .find(|(mime, _)| web_sys::MediaRecorder::is_type_supported(mime))
            .ok_or("this browser records no format other devices play")?;
        let options = web_sys::MediaRecorderOptions::new();
        options.set_mime_type(mime);
        let recorder = web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(
            &stream, &options,
        )
        .map_err(|_| "the recorder did not start")?;
        let chunks: Rc<RefCell<Vec<web_sys::Blob>>> = Rc::default();
        let on_data = {
            let chunks = chunks.clone();
            Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |e: web_sys::BlobEvent| {
                if let Some(data) = e.data() {
                    chunks.borrow_mut().push(data);
                }
            })
        };
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        // The waveform: the loudest sample of each 100 ms, from an analyser
        // on the same stream.
        let audio = web_sys::AudioContext::new().map_err(|_| "no audio")?;
        let source = audio
            .create_media_stream_source(&stream)
            .map_err(|_| "no audio source")?;
        let analyser = audio.create_analyser().map_err(|_| "no analyser")?;
        analyser.set_fft_size(1024);
        source
            .connect_with_audio_node(&analyser)
            .map_err(|_| "no analyser")?;
        let peaks: Rc<RefCell<Vec<u8>>> = Rc::default();
        let sampling = {
            let peaks = peaks.clone();
            let mut samples = vec![128u8; 1024];
            Interval::new(100, move || {
                analyser.get_byte_time_domain_data(&mut samples);
                let peak = samples
                    .iter()
                    .map(|s| (i16::from(*s) - 128).unsigned_abs())
                    .max()
                    .unwrap_or(0);
                peaks.borrow_mut().push((peak * 2).min(255) as u8);
            })
        };
        recorder
            .start_with_time_slice(250)
            .map_err(|_| "the recorder did not start")?;
        Ok(Recording {
            recorder,
            stream,
            audio,
            started: js_sys::Date::now(),
            peaks,
            chunks,
            content_type: (*content_type).to_owned(),
            _sampling: sampling,
            _on_data: on_data,
        })
    }

    /// Stops and hands over the clip (or nothing, `keep` false).
    fn stop(self, keep: bool, done: Callback<Clip>) {
        let duration_ms = (js_sys::Date::now() - self.started).max(1.0) as u32;
        let Recording {
            recorder,
            stream,
            audio,
            peaks,
            chunks,
            content_type,
            _sampling,
            _on_data,
            ..
        } = self;
        drop(_sampling);
        let on_stop = Closure::once(move || {
            for track in stream.get_tracks().iter() {
                if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                    track.stop();
                }
            }
            let _ = audio.close();
            drop(_on_data);
            if !keep {
                return;
            }
            let parts = js_sys::Array::new();
            for chunk in chunks.borrow().iter() {
                parts.push(chunk);
            }
            let bag = web_sys::BlobPropertyBag::new();
            bag.set_type(&content_type);
            let Ok(blob) = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &bag) else {
                return;
            };
            done.emit(Clip {
                blob,
                content_type,
                duration_ms,
                waveform: fold(&peaks.borrow(), model::chat_limits::WAVEFORM_BARS),
            });
        });
        recorder.set_onstop(Some(on_stop.as_ref().unchecked_ref()));
        // The recorder's last data and its `stop` come after this returns.
        on_stop.forget();
        let _ = recorder.stop();
    }
}

#[derive(Properties, PartialEq)]
pub struct RecorderProps {
    pub on_clip: Callback<Clip>,
}

/// The microphone button, and while recording, how long and a way to send
/// or drop the clip.
#[function_component(Recorder)]
pub fn recorder(props: &RecorderProps) -> Html {
    let recording = use_mut_ref(|| None::<Recording>);
    let since = use_state(|| None::<f64>);
    let problem = use_state(|| None::<String>);
    let tick = use_state(|| 0u32);
    {
        // Leaving the page while recording lets go of the microphone and
        // drops the clip.
        let recording = recording.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(r) = recording.borrow_mut().take() {
                    r.stop(false, Callback::noop());
                }
            }
        });
    }
    {
        // The time shown goes on while recording; at the longest a clip
        // may be, it is sent as it is.
        let (tick, recording, since, done) = (
            tick.clone(),
            recording.clone(),
            since.clone(),
            props.on_clip.clone(),
        );
        use_effect_with(since.is_some(), move |on| {
            let interval = on.then(|| {
                let mut n = 0;
                Interval::new(500, move || {
                    n += 1;
                    tick.set(n);
                    let full = recording.borrow().as_ref().is_some_and(|r| {
                        js_sys::Date::now() - r.started
                            >= f64::from(model::chat_limits::VOICE_MS) - 1_000.0
                    });
                    if full && let Some(r) = recording.borrow_mut().take() {
                        r.stop(true, done.clone());
                        since.set(None);
                    }
                })
            });
            move || drop(interval)
        });
    }
    let start = {
        let (recording, since, problem) = (recording.clone(), since.clone(), problem.clone());
        Callback::from(move |_: MouseEvent| {
            let (recording, since, problem) = (recording.clone(), since.clone(), problem.clone());
            spawn_local(async move {
                match Recording::start().await {
                    Ok(r) => {
                        since.set(Some(r.started));
                        *recording.borrow_mut() = Some(r);
                        problem.set(None);
                    }
                    Err(why) => problem.set(Some(why.to_owned())),
                }
            });
        })
    };
    let finish = |keep: bool| {
        let (recording, since, done) = (recording.clone(), since.clone(), props.on_clip.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = recording.borrow_mut().take() {
                r.stop(keep, done.clone());
            }
            since.set(None);
        })
    };
    let elapsed = since.map(|at| ((js_sys::Date::now() - at) / 1000.0) as u32);
    html! {
        <div class="recorder">
            if let Some(secs) = elapsed {
                // Said once to a screen reader; the running time is for eyes.
                <span class="recording" role="status">{ "Recording " }
                    <span aria-hidden="true">{ format!("{}:{:02}", secs / 60, secs % 60) }</span></span>
                <button type="button" class="primary" onclick={finish(true)}>{ "Send clip" }</button>
                <button type="button" onclick={finish(false)}>{ "Discard" }</button>
            } else {
                <button type="button" class="icon" aria-label="Record a voice clip" title="Record a voice clip"
                    onclick={start}>{ "🎤" }</button>
            }
            if let Some(why) = &*problem {
                <p class="error" role="alert">{ format!("No voice clip: {why}.") }</p>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_fold_into_bars_keeping_the_loudest() {
        assert_eq!(fold(&[1, 2, 3], 64), vec![1, 2, 3]);
        let peaks: Vec<u8> = (0..=255).collect();
        let bars = fold(&peaks, 64);
        assert_eq!(bars.len(), 64);
        assert_eq!((bars[0], bars[63]), (3, 255));
        assert!(bars.windows(2).all(|w| w[0] < w[1]));
    }
}
