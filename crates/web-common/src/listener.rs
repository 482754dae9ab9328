use wasm_bindgen::{JsCast, closure::Closure};

/// A listener on `window`, removed when dropped.
pub struct WindowListener {
    name: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl WindowListener {
    pub fn new(name: &'static str, f: impl FnMut() + 'static) -> Option<WindowListener> {
        let window = web_sys::window()?;
        let closure = Closure::<dyn FnMut()>::new(f);
        window
            .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(WindowListener { name, closure })
    }
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                self.name,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

/// The location's hash (`#earnings`), by which both apps address screens.
pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}
