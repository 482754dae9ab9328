//! Moving a lead by hand on the board: dragged across the columns with a
//! mouse, a pen or a finger on a wide screen; swiped one stage on (to the
//! right) or back (to the left) on a phone, where a swipe beside the cards
//! turns to the next or previous stage; and by keyboard, a card picked up
//! with Space or Enter, carried with the arrow keys, put down with Enter
//! (Escape puts it back). Each is an explicit act: a card moves when it is
//! let go over another stage, never on a key that also browses.
//!
//! One set of listeners on the stages' container serves every card (the
//! events bubble to it), and while a card is carried only its own style
//! changes: nothing is drawn again until it lands, so it follows the finger
//! at the screen's rate however many leads the board holds. What a landing
//! does is the board's (the `on_drop` given to [`Hand::new`], the board's
//! `drop_to`): the edit the stage buttons make, a question first for
//! "won", a refusal for a lead an approved deal holds.
//!
//! Cards carry `data-lead` and `data-stage`; whatever a card can land on
//! carries `data-drop` (a wide screen's columns, a phone's stage tabs) and
//! gets `data-over` while a card is over it. The page keeps its own
//! scrolling and zooming: cards and the strip leave vertical pans and
//! pinches to the browser (`touch-action: pan-y pinch-zoom`, in the style
//! sheet) and take horizontal moves, and the page refuses horizontal
//! overscroll, so a swipe on the board is never the browser's "back" (the
//! phone's own edge gestures, outside the page, stay the system's).

use std::{cell::RefCell, rc::Rc};

use model::{LeadId, Stage};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, KeyboardEvent, PointerEvent};
use yew::prelude::*;

use super::stage_label;

/// What the hand holds between events: kept across renders by the board's
/// hook, so a re-render in the middle of a drag does not drop the card.
#[derive(Default)]
pub struct Held {
    press: Option<Press>,
    lifted: Option<Lift>,
    /// A drag or swipe just ended: the click it makes is not a tap.
    swallow_click: bool,
}

pub type Hold = Rc<RefCell<Held>>;

struct Press {
    pointer: i32,
    x: f64,
    y: f64,
    /// None: pressed beside the cards (a phone turns the stage).
    card: Option<Card>,
    mode: Mode,
    over: Option<Element>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Not moved far enough to tell a tap from a drag or a scroll.
    Undecided,
    Dragging,
    Swiping,
}

struct Card {
    el: HtmlElement,
    lead: LeadId,
    from: Stage,
    /// An approved deal holds it in "won": carried, it says so, and lands
    /// nowhere.
    held: bool,
}

struct Lift {
    card: Card,
    to: Stage,
}

/// How far a pointer moves before a press is a drag (a mouse's slip on a
/// click is less), and before a phone tells a swipe from a scroll.
const DRAG_START_PX: f64 = 6.0;
const SWIPE_START_PX: f64 = 10.0;
/// A swipe moves the card once it has gone this share of its width...
const SWIPE_SHARE: f64 = 0.3;
/// ...or this far, whichever is less; and turns the stage from this far.
const SWIPE_MOST_PX: f64 = 120.0;
const TURN_PX: f64 = 60.0;

/// The listeners for the stages' container.
pub struct Hand {
    pub down: Callback<PointerEvent>,
    pub moved: Callback<PointerEvent>,
    pub up: Callback<PointerEvent>,
    pub cancel: Callback<PointerEvent>,
    pub lost: Callback<PointerEvent>,
    pub key: Callback<KeyboardEvent>,
    pub click: Callback<MouseEvent>,
    pub blur: Callback<FocusEvent>,
}

/// Puts what `press` carried back and takes its mark off.
fn let_go(press: Press) {
    mark_over(press.over, None);
    if let Some(card) = press.card {
        card.put_back();
    }
}

impl Hand {
    /// Listeners over `held` for a board that is `wide` (columns) or not
    /// (one stage shown, `shown`): `on_drop` moves a lead to a stage,
    /// `on_show` turns the phone's strip to a stage.
    pub fn new(
        held: &Hold,
        wide: bool,
        shown: Stage,
        on_drop: &Callback<(LeadId, Stage)>,
        on_show: Option<&Callback<Stage>>,
    ) -> Hand {
        let down = {
            let held = held.clone();
            Callback::from(move |e: PointerEvent| {
                let mut h = held.borrow_mut();
                h.swallow_click = false;
                // Whatever an earlier press left (its end never came).
                if let Some(press) = h.press.take() {
                    let_go(press);
                }
                // A card lifted by keyboard and since drawn again elsewhere
                // (a sync moved it) is no longer carried.
                if let Some(lift) = h.lifted.take_if(|l| !l.card.el.is_connected()) {
                    lift.put_down();
                }
                if !e.is_primary() || e.button() != 0 || h.lifted.is_some() {
                    return;
                }
                let Some(target) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                    return;
                };
                // The card's own controls keep their taps and drags.
                if target
                    .closest("button, input, select, textarea, summary, form")
                    .ok()
                    .flatten()
                    .is_some()
                {
                    return;
                }
                let card = Card::of(&target);
                if card.is_none() && wide {
                    return;
                }
                h.press = Some(Press {
                    pointer: e.pointer_id(),
                    x: f64::from(e.client_x()),
                    y: f64::from(e.client_y()),
                    card,
                    mode: Mode::Undecided,
                    over: None,
                });
            })
        };
        let moved = {
            let held = held.clone();
            Callback::from(move |e: PointerEvent| {
                let mut h = held.borrow_mut();
                let Some(press) = h.press.as_mut().filter(|p| p.pointer == e.pointer_id()) else {
                    return;
                };
                let (x, y) = (f64::from(e.client_x()), f64::from(e.client_y()));
                let (dx, dy) = (x - press.x, y - press.y);
                if press.mode == Mode::Undecided {
                    if wide && dx.hypot(dy) > DRAG_START_PX {
                        press.mode = Mode::Dragging;
                    } else if !wide && dx.abs() > SWIPE_START_PX && dx.abs() > dy.abs() {
                        press.mode = Mode::Swiping;
                    } else if !wide && dy.abs() > SWIPE_START_PX {
                        // A scroll: the page's.
                        h.press = None;
                        return;
                    } else {
                        return;
                    }
                    capture(&e);
                    if let Some(card) = &press.card {
                        let _ = card.el.set_attribute("data-carried", "");
                    }
                }
                let Some(card) = &press.card else { return };
                match press.mode {
                    Mode::Dragging => {
                        carry(&card.el, &format!("translate({dx}px, {dy}px)"));
                        let over = drop_target_at(x, y);
                        if card.held {
                            // Nothing is marked: it lands nowhere (and
                            // letting go says why).
                            let arrow = if dx >= 0.0 { "→" } else { "←" };
                            let _ = card
                                .el
                                .set_attribute("data-to", &format!("{arrow} Approved: stays won"));
                            press.over = over;
                        } else if over != press.over {
                            mark_over(press.over.take(), over.as_ref());
                            press.over = over;
                        }
                    }
                    Mode::Swiping => {
                        carry(&card.el, &format!("translateX({dx}px)"));
                        let arrow = if dx > 0.0 { "→" } else { "←" };
                        match card.from.step(dx.signum() as isize) {
                            _ if card.held => {
                                let _ = card.el.set_attribute(
                                    "data-to",
                                    &format!("{arrow} Approved: stays won"),
                                );
                            }
                            Some(to) => {
                                let _ = card.el.set_attribute(
                                    "data-to",
                                    &format!("{arrow} {}", stage_label(to)),
                                );
                                let _ = card.el.toggle_attribute_with_force(
                                    "data-far",
                                    dx.abs() >= swipe_distance(&card.el),
                                );
                            }
                            None => {
                                let end = if dx > 0.0 {
                                    "the last stage"
                                } else {
                                    "the first stage"
                                };
                                let _ = card.el.set_attribute(
                                    "data-to",
                                    &format!("{arrow} {} is {end}", stage_label(card.from)),
                                );
                                let _ = card.el.remove_attribute("data-far");
                            }
                        }
                    }
                    Mode::Undecided => {}
                }
            })
        };
        let up = {
            let (held, on_drop, on_show) = (held.clone(), on_drop.clone(), on_show.cloned());
            Callback::from(move |e: PointerEvent| {
                let mut h = held.borrow_mut();
                let Some(press) = h.press.take_if(|p| p.pointer == e.pointer_id()) else {
                    return;
                };
                if press.mode == Mode::Undecided {
                    return;
                }
                // A mouse's or pen's drag ends in a click on what it
                // started on; a finger's swipe makes none.
                h.swallow_click = e.pointer_type() != "touch";
                drop(h);
                let dx = f64::from(e.client_x()) - press.x;
                let over = press.over.as_ref().and_then(drop_stage);
                mark_over(press.over.clone(), None);
                match (press.mode, press.card) {
                    (Mode::Dragging, Some(card)) => {
                        card.put_back();
                        if let Some(to) = over.filter(|to| *to != card.from) {
                            on_drop.emit((card.lead, to));
                        }
                    }
                    (Mode::Swiping, Some(card)) => {
                        let far = dx.abs() >= swipe_distance(&card.el);
                        card.put_back();
                        if let Some(to) = card.from.step(dx.signum() as isize).filter(|_| far) {
                            on_drop.emit((card.lead, to));
                        }
                    }
                    (Mode::Swiping, None) if dx.abs() >= TURN_PX => {
                        // Pages turn the other way: a swipe to the left
                        // brings the next stage in from the right.
                        if let (Some(next), Some(on_show)) =
                            (shown.step(-dx.signum() as isize), &on_show)
                        {
                            on_show.emit(next);
                        }
                    }
                    _ => {}
                }
            })
        };
        let cancel = {
            let held = held.clone();
            Callback::from(move |e: PointerEvent| {
                let press = held
                    .borrow_mut()
                    .press
                    .take_if(|p| p.pointer == e.pointer_id());
                if let Some(press) = press {
                    let_go(press);
                }
            })
        };
        // The container's capture ended some other way than by the
        // pointer's end (the browser took it back): as if cancelled. Not a
        // card's: a finger's press is captured by what it touched until
        // the container takes the capture over, which ends that one.
        let lost = {
            let cancel = cancel.clone();
            Callback::from(move |e: PointerEvent| {
                let container = e
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .is_some_and(|el| el.matches(".stages").unwrap_or(false));
                if container {
                    cancel.emit(e);
                }
            })
        };
        let key = {
            let (held, on_drop) = (held.clone(), on_drop.clone());
            Callback::from(move |e: KeyboardEvent| {
                let Some(el) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
                    return;
                };
                let mut h = held.borrow_mut();
                // A key's click (Enter on a link) is not the end of a drag.
                h.swallow_click = false;
                let Some(lift) = h.lifted.as_mut() else {
                    // Only the card itself, not a link or button in it.
                    let pick_up = matches!(e.key().as_str(), " " | "Enter")
                        && el.matches("article.lead").unwrap_or(false);
                    if let Some(card) = Card::of(&el).filter(|_| pick_up) {
                        e.prevent_default();
                        let _ = card.el.set_attribute("data-lifted", "");
                        announce(&format!(
                            "Picked up {}, in {}. Left and right arrows choose a stage, Enter moves it there, Escape puts it back.",
                            card.name(),
                            stage_label(card.from)
                        ));
                        let to = card.from;
                        h.lifted = Some(Lift { card, to });
                    }
                    return;
                };
                match e.key().as_str() {
                    key @ ("ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown") => {
                        e.prevent_default();
                        let step = if matches!(key, "ArrowLeft" | "ArrowUp") {
                            -1
                        } else {
                            1
                        };
                        if let Some(to) = lift.to.step(step) {
                            mark_over(find_drop(lift.to), find_drop(to).as_ref());
                            lift.to = to;
                            let here = if to == lift.card.from {
                                " (where it is)"
                            } else {
                                ""
                            };
                            announce(&format!("{}{here}", stage_label(to)));
                        }
                    }
                    " " | "Enter" => {
                        e.prevent_default();
                        let lift = h.lifted.take();
                        drop(h);
                        if let Some(Lift { card, to }) = lift.map(Lift::put_down) {
                            if to == card.from {
                                announce(&format!("{} stays in {}.", card.name(), stage_label(to)));
                            } else {
                                on_drop.emit((card.lead, to));
                            }
                        }
                    }
                    "Escape" | "Tab" => {
                        if e.key() == "Escape" {
                            e.prevent_default();
                        }
                        let lift = h.lifted.take();
                        drop(h);
                        if let Some(Lift { card, .. }) = lift.map(Lift::put_down) {
                            announce(&format!(
                                "{} put back in {}.",
                                card.name(),
                                stage_label(card.from)
                            ));
                        }
                    }
                    _ => {}
                }
            })
        };
        let click = {
            let held = held.clone();
            Callback::from(move |e: MouseEvent| {
                if std::mem::take(&mut held.borrow_mut().swallow_click) {
                    e.prevent_default();
                    e.stop_propagation();
                }
            })
        };
        let blur = {
            let held = held.clone();
            Callback::from(move |e: FocusEvent| {
                let mut h = held.borrow_mut();
                let left = h.lifted.as_ref().is_some_and(|l| {
                    let target = e.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                    l.card.el.is_same_node(target.as_ref())
                });
                if let Some(lift) = h.lifted.take_if(|_| left) {
                    lift.put_down();
                }
            })
        };
        Hand {
            down,
            moved,
            up,
            cancel,
            lost,
            key,
            click,
            blur,
        }
    }
}

impl Lift {
    /// Back where it was drawn, the mark off the stage it was over;
    /// returned, for what a drop does next.
    fn put_down(self) -> Lift {
        self.card.put_back();
        mark_over(find_drop(self.to), None);
        self
    }
}

impl Card {
    /// The card `el` is in, if it is a card that moves.
    fn of(el: &Element) -> Option<Card> {
        let el = el.closest("article.lead[data-lead]").ok()??;
        Some(Card {
            lead: LeadId::parse(&el.get_attribute("data-lead")?).ok()?,
            from: Stage::parse(&el.get_attribute("data-stage")?).ok()?,
            held: el.has_attribute("data-held"),
            el: el.dyn_into().ok()?,
        })
    }

    fn name(&self) -> String {
        self.el.get_attribute("data-name").unwrap_or_default()
    }

    /// Back where it was drawn, as the board will draw it until it lands.
    fn put_back(&self) {
        for name in [
            "style",
            "data-carried",
            "data-lifted",
            "data-to",
            "data-far",
        ] {
            let _ = self.el.remove_attribute(name);
        }
    }
}

/// Sends the rest of the pointer's moves to the stages' container, wherever
/// the pointer goes. The container, found from the target: Yew listens on
/// the document's body, so the event's current target is the body, and a
/// capture by the body would send the moves to the body itself, whose
/// events never reach the container's handlers.
fn capture(e: &PointerEvent) {
    let stages = e
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest(".stages").ok().flatten());
    if let Some(el) = stages {
        let _ = el.set_pointer_capture(e.pointer_id());
    }
}

/// Through the style object, not the attribute: the page's content
/// security policy refuses inline style attributes, not script's styles.
fn carry(el: &HtmlElement, transform: &str) {
    let _ = el.style().set_property("transform", transform);
}

/// How far a swipe takes the card before letting go moves it.
fn swipe_distance(card: &HtmlElement) -> f64 {
    (f64::from(card.offset_width()) * SWIPE_SHARE).min(SWIPE_MOST_PX)
}

/// What a card would land on at (`x`, `y`): the carried card itself lets
/// the pointer through (`pointer-events: none` while carried).
fn drop_target_at(x: f64, y: f64) -> Option<Element> {
    let document = web_sys::window()?.document()?;
    document
        .element_from_point(x as f32, y as f32)?
        .closest("[data-drop]")
        .ok()?
}

fn find_drop(stage: Stage) -> Option<Element> {
    let document = web_sys::window()?.document()?;
    document
        .query_selector(&format!("[data-drop={}]", stage.as_str()))
        .ok()?
}

fn drop_stage(el: &Element) -> Option<Stage> {
    Stage::parse(&el.get_attribute("data-drop")?).ok()
}

/// Moves the "a card would land here" mark from `from` to `to`.
fn mark_over(from: Option<Element>, to: Option<&Element>) {
    if let Some(el) = from {
        let _ = el.remove_attribute("data-over");
    }
    if let Some(el) = to {
        let _ = el.set_attribute("data-over", "");
    }
}

/// Says `text` to a screen reader, through the board's live region.
pub fn announce(text: &str) {
    let region = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("board-announce"));
    if let Some(region) = region {
        region.set_text_content(Some(text));
    }
}
