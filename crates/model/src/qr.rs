//! A link's QR code as SVG: the modules encoded here (byte mode, error
//! correction M, the smallest of versions 1 to 10 that holds the text),
//! drawn as one rectangle per run of dark modules in a row, inside the
//! four-module quiet zone readers need. The same drawing on the partner's
//! device (the links screen, offline) and on the server (the co-branded
//! copies of resources).
//!
//! Why our own encoder: a link needs one mode, one level and the first
//! ten versions (up to 213 bytes), about 300 lines; the general encoder
//! the `qrcode` crate is cost 12 KB of the partner app's compressed
//! module, which its screens' budget could not keep. That crate stays as
//! the tests' oracle: every mask of every version drawn here is checked
//! module for module against it (ISO/IEC 18004 is followed the same way:
//! codewords, Reed-Solomon over GF(256) with x^8+x^4+x^3+x^2+1, the
//! placement, masks, format and version information, the penalty rules).

/// Level M per version 1 to 10: error correction codewords per block, the
/// blocks of the first group and their data codewords, the blocks of the
/// second group (one data codeword more each).
const BLOCKS: [(usize, usize, usize, usize); 10] = [
    (10, 1, 16, 0),
    (16, 1, 28, 0),
    (26, 1, 44, 0),
    (18, 2, 32, 0),
    (24, 2, 43, 0),
    (16, 4, 27, 0),
    (18, 4, 31, 0),
    (22, 2, 38, 2),
    (22, 3, 36, 2),
    (26, 4, 43, 1),
];

/// The centres of alignment patterns, per version, on both axes.
const ALIGNMENT: [&[usize]; 10] = [
    &[],
    &[6, 18],
    &[6, 22],
    &[6, 26],
    &[6, 30],
    &[6, 34],
    &[6, 22, 38],
    &[6, 24, 42],
    &[6, 26, 46],
    &[6, 28, 50],
];

/// Multiplication in GF(256) modulo x^8 + x^4 + x^3 + x^2 + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    product
}

/// The `degree` error correction codewords of `data`: the remainder of
/// its division by the generator (x - 1)(x - 2)...(x - 2^(degree-1)).
fn reed_solomon(data: &[u8], degree: usize) -> Vec<u8> {
    // The generator's coefficients, highest first, its leading 1 left out.
    let mut generator = vec![0u8; degree];
    generator[degree - 1] = 1;
    let mut root = 1u8;
    for _ in 0..degree {
        for j in 0..degree {
            generator[j] = gf_mul(generator[j], root);
            if j + 1 < degree {
                generator[j] ^= generator[j + 1];
            }
        }
        root = gf_mul(root, 2);
    }
    let mut remainder = vec![0u8; degree];
    for &byte in data {
        let factor = byte ^ remainder[0];
        remainder.remove(0);
        remainder.push(0);
        for (r, g) in remainder.iter_mut().zip(&generator) {
            *r ^= gf_mul(*g, factor);
        }
    }
    remainder
}

/// The codewords of `text` in `version` (1 to 10), interleaved as they
/// are placed; `None` when it does not hold them.
fn codewords(text: &[u8], version: usize) -> Option<Vec<u8>> {
    let (ec, blocks1, data1, blocks2) = BLOCKS[version - 1];
    let capacity = blocks1 * data1 + blocks2 * (data1 + 1);
    let count_bits = if version <= 9 { 8 } else { 16 };
    if 4 + count_bits + 8 * text.len() > capacity * 8 {
        return None;
    }
    let mut bits: Vec<bool> = Vec::with_capacity(capacity * 8);
    let mut push = |value: usize, n: usize| {
        for i in (0..n).rev() {
            bits.push((value >> i) & 1 != 0);
        }
    };
    push(0b0100, 4);
    push(text.len(), count_bits);
    for &b in text {
        push(b as usize, 8);
    }
    let terminator = (capacity * 8 - bits.len()).min(4);
    bits.extend(std::iter::repeat_n(false, terminator));
    while !bits.len().is_multiple_of(8) {
        bits.push(false);
    }
    let mut data: Vec<u8> = bits
        .chunks(8)
        .map(|byte| byte.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
        .collect();
    for pad in [0xec, 0x11].into_iter().cycle() {
        if data.len() == capacity {
            break;
        }
        data.push(pad);
    }
    let mut blocks: Vec<&[u8]> = Vec::new();
    let mut rest = data.as_slice();
    for b in 0..blocks1 + blocks2 {
        let (block, after) = rest.split_at(if b < blocks1 { data1 } else { data1 + 1 });
        blocks.push(block);
        rest = after;
    }
    let ecs: Vec<Vec<u8>> = blocks.iter().map(|b| reed_solomon(b, ec)).collect();
    let mut out = Vec::with_capacity(capacity + ec * blocks.len());
    for i in 0..=data1 {
        out.extend(blocks.iter().filter_map(|b| b.get(i)));
    }
    for i in 0..ec {
        out.extend(ecs.iter().map(|e| e[i]));
    }
    Some(out)
}

/// A code's modules, row by row, and which are function patterns.
struct Grid {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Grid {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        let i = y * self.size + x;
        self.dark[i] = dark;
        self.function[i] = true;
    }

    fn at(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.size + x]
    }

    /// Format information: level M (00) and `mask`, BCH-protected, twice.
    fn format(&mut self, mask: usize) {
        let data = mask;
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = ((data << 10) | rem) ^ 0x5412;
        let bit = |i: usize| (bits >> i) & 1 != 0;
        let size = self.size;
        for i in 0..=5 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(size - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, size - 15 + i, bit(i));
        }
        // The dark module, always there.
        self.set(8, size - 8, true);
    }

    fn new(version: usize) -> Grid {
        let size = 17 + 4 * version;
        let mut grid = Grid {
            size,
            dark: vec![false; size * size],
            function: vec![false; size * size],
        };
        for i in 0..size {
            grid.set(6, i, i % 2 == 0);
            grid.set(i, 6, i % 2 == 0);
        }
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4i32..=4 {
                for dx in -4i32..=4 {
                    let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                    if (0..size as i32).contains(&x) && (0..size as i32).contains(&y) {
                        let ring = dx.abs().max(dy.abs());
                        grid.set(x as usize, y as usize, ring != 2 && ring != 4);
                    }
                }
            }
        }
        let centres = ALIGNMENT[version - 1];
        let last = centres.len().saturating_sub(1);
        for (i, &cx) in centres.iter().enumerate() {
            for (j, &cy) in centres.iter().enumerate() {
                // Not where a finder is.
                if (i == 0 && (j == 0 || j == last)) || (i == last && j == 0) {
                    continue;
                }
                for dy in -2i32..=2 {
                    for dx in -2i32..=2 {
                        let (x, y) = ((cx as i32 + dx) as usize, (cy as i32 + dy) as usize);
                        grid.set(x, y, dx.abs().max(dy.abs()) != 1);
                    }
                }
            }
        }
        // Reserved for the format: drawn again once the mask is chosen.
        grid.format(0);
        if version >= 7 {
            let mut rem = version;
            for _ in 0..12 {
                rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
            }
            let bits = (version << 12) | rem;
            for i in 0..18 {
                let bit = (bits >> i) & 1 != 0;
                let (a, b) = (size - 11 + i % 3, i / 3);
                grid.set(a, b, bit);
                grid.set(b, a, bit);
            }
        }
        grid
    }

    /// The codewords in the zigzag of two-module columns, right to left,
    /// up then down, around the function patterns.
    fn place(&mut self, codewords: &[u8]) {
        let size = self.size;
        let total = codewords.len() * 8;
        let mut i = 0;
        let mut right = size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            for vert in 0..size {
                for j in 0..2 {
                    let x = right - j;
                    let upward = (right + 1) & 2 == 0;
                    let y = if upward { size - 1 - vert } else { vert };
                    if !self.function[y * size + x] && i < total {
                        self.dark[y * size + x] = (codewords[i >> 3] >> (7 - (i & 7))) & 1 != 0;
                        i += 1;
                    }
                    // Remainder bits stay light.
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
    }

    /// Flips the data modules where `mask` says (flipping again undoes it).
    fn mask(&mut self, mask: usize) {
        let size = self.size;
        for y in 0..size {
            for x in 0..size {
                let flip = match mask {
                    0 => (x + y) % 2 == 0,
                    1 => y % 2 == 0,
                    2 => x % 3 == 0,
                    3 => (x + y) % 3 == 0,
                    4 => (x / 3 + y / 2) % 2 == 0,
                    5 => (x * y) % 2 + (x * y) % 3 == 0,
                    6 => ((x * y) % 2 + (x * y) % 3) % 2 == 0,
                    _ => ((x + y) % 2 + (x * y) % 3) % 2 == 0,
                };
                let i = y * size + x;
                if flip && !self.function[i] {
                    self.dark[i] = !self.dark[i];
                }
            }
        }
    }

    /// The penalty of the standard's four rules: runs of five or more,
    /// 2x2 blocks, finder-like 1:1:3:1:1 patterns, and imbalance.
    fn penalty(&self) -> usize {
        let size = self.size;
        let mut score = 0;
        for transposed in [false, true] {
            let at = |a: usize, b: usize| {
                if transposed {
                    self.at(b, a)
                } else {
                    self.at(a, b)
                }
            };
            for b in 0..size {
                let mut run_dark = false;
                let mut run = 0;
                let mut history = [0usize; 7];
                for a in 0..size {
                    if at(a, b) == run_dark {
                        run += 1;
                        if run == 5 {
                            score += 3;
                        } else if run > 5 {
                            score += 1;
                        }
                    } else {
                        add_history(run, &mut history, size);
                        if !run_dark {
                            score += finder_like(&history) * 40;
                        }
                        run_dark = at(a, b);
                        run = 1;
                    }
                }
                if run_dark {
                    add_history(run, &mut history, size);
                    run = 0;
                }
                add_history(run + size, &mut history, size);
                score += finder_like(&history) * 40;
            }
        }
        for y in 0..size - 1 {
            for x in 0..size - 1 {
                let c = self.at(x, y);
                if c == self.at(x + 1, y) && c == self.at(x, y + 1) && c == self.at(x + 1, y + 1) {
                    score += 3;
                }
            }
        }
        let total = size * size;
        let dark = self.dark.iter().filter(|&&d| d).count();
        let k = (dark * 20).abs_diff(total * 10).div_ceil(total) - 1;
        score + k * 10
    }
}

/// Pushes a run's length into the last seven runs of a line (the first
/// run of a line counts the light border before it).
fn add_history(mut run: usize, history: &mut [usize; 7], size: usize) {
    if history[0] == 0 {
        run += size;
    }
    history.copy_within(0..6, 1);
    history[0] = run;
}

/// Finder-like patterns the last runs end: dark 1:1:3:1:1 with four light
/// on one side.
fn finder_like(h: &[usize; 7]) -> usize {
    let n = h[1];
    let core = n > 0 && h[2] == n && h[3] == n * 3 && h[4] == n && h[5] == n;
    usize::from(core && h[0] >= n * 4 && h[6] >= n)
        + usize::from(core && h[6] >= n * 4 && h[0] >= n)
}

/// `text` encoded in `version` with `mask`, or with the mask of least
/// penalty: its side and its modules, row by row.
fn encode(text: &[u8], version: usize, mask: Option<usize>) -> Option<(usize, Vec<bool>)> {
    let codewords = codewords(text, version)?;
    let mut grid = Grid::new(version);
    grid.place(&codewords);
    let mask = mask.unwrap_or_else(|| {
        (0..8)
            .min_by_key(|&m| {
                grid.mask(m);
                grid.format(m);
                let p = grid.penalty();
                grid.mask(m);
                p
            })
            .unwrap_or(0)
    });
    grid.mask(mask);
    grid.format(mask);
    Some((grid.size, grid.dark))
}

/// The code of `text`: its side in modules (quiet zone included) and the
/// SVG path of its dark modules; `None` when it cannot be encoded (a link
/// is far shorter than a code holds).
pub fn path(text: &str) -> Option<(usize, String)> {
    let (width, dark) = (1..=BLOCKS.len()).find_map(|v| encode(text.as_bytes(), v, None))?;
    let mut path = String::new();
    for (y, row) in dark.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] {
                let start = x;
                while x < width && row[x] {
                    x += 1;
                }
                let run = x - start;
                path.push_str(&format!("M{} {}h{run}v1h-{run}z", start + 4, y + 4));
            } else {
                x += 1;
            }
        }
    }
    Some((width + 8, path))
}

/// The code of `text` as a whole SVG document, black on white.
pub fn svg(text: &str) -> Option<String> {
    let (size, path) = path(text)?;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         width=\"{size}\" height=\"{size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::{
        EcLevel, Version,
        bits::Bits,
        canvas::{Canvas, MaskPattern},
        ec::construct_codewords,
    };

    /// The `qrcode` crate's modules of `text` in byte mode, `version`,
    /// level M and `mask` (or its own choice of mask).
    fn oracle(text: &[u8], version: usize, mask: Option<usize>) -> Vec<bool> {
        let v = Version::Normal(version as i16);
        let mut bits = Bits::new(v);
        bits.push_byte_data(text).unwrap();
        bits.push_terminator(EcLevel::M).unwrap();
        let (data, ec) = construct_codewords(&bits.into_bytes(), v, EcLevel::M).unwrap();
        let mut canvas = Canvas::new(v, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ec);
        let canvas = match mask {
            Some(m) => {
                let pattern = [
                    MaskPattern::Checkerboard,
                    MaskPattern::HorizontalLines,
                    MaskPattern::VerticalLines,
                    MaskPattern::DiagonalLines,
                    MaskPattern::LargeCheckerboard,
                    MaskPattern::Fields,
                    MaskPattern::Diamonds,
                    MaskPattern::Meadow,
                ][m];
                let mut c = canvas;
                c.apply_mask(pattern);
                c
            }
            None => canvas.apply_best_mask(),
        };
        canvas
            .into_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect()
    }

    #[test]
    fn every_version_and_mask_is_the_standards_module_for_module() {
        for version in 1..=10 {
            let (ec, b1, d1, b2) = BLOCKS[version - 1];
            let capacity = b1 * d1 + b2 * (d1 + 1);
            let fits = capacity - 2 - usize::from(version > 9);
            // The fullest text a version holds, and a short one.
            for len in [fits, fits / 3 + 1] {
                let text: Vec<u8> = (0..len)
                    .map(|i| b"https://portal.example/r/"[i % 25] ^ (i as u8 & 3))
                    .collect();
                for mask in 0..8 {
                    let (size, mine) = encode(&text, version, Some(mask)).unwrap();
                    assert_eq!(size, 17 + 4 * version);
                    assert!(
                        mine == oracle(&text, version, Some(mask)),
                        "version {version}, {len} bytes, mask {mask} (ec {ec})"
                    );
                }
            }
            let too_long = vec![b'x'; fits + 1];
            assert!(
                codewords(&too_long, version).is_none(),
                "version {version} holds {fits} bytes"
            );
        }
    }

    /// The mask is the standard's choice (ISO/IEC 18004:2015's penalty
    /// rules; the crate scores by rules of its own, so its choice is not
    /// the oracle here, only its drawing of each mask).
    #[test]
    fn the_mask_chosen_is_the_one_of_least_penalty() {
        for text in [
            "https://portal.example/r/0123456789ab",
            "http://127.0.0.1:37781/r/6hp418edzqmf",
            "x",
        ] {
            let bytes = text.as_bytes();
            let version = (1..=10).find(|&v| codewords(bytes, v).is_some()).unwrap();
            let penalties: Vec<usize> = (0..8)
                .map(|m| {
                    let mut grid = Grid::new(version);
                    grid.place(&codewords(bytes, version).unwrap());
                    grid.mask(m);
                    grid.format(m);
                    grid.penalty()
                })
                .collect();
            let least = (0..8).min_by_key(|&m| penalties[m]).unwrap();
            let (_, chosen) = encode(bytes, version, None).unwrap();
            assert!(
                chosen == oracle(bytes, version, Some(least)),
                "{text}: {penalties:?}"
            );
            assert!(
                penalties.iter().all(|&p| p > 0 && p < 10_000),
                "{penalties:?}"
            );
        }
    }

    #[test]
    fn the_penalty_counts_the_standards_four_rules() {
        // A version 1 grid all light but its function patterns: long runs,
        // blocks and imbalance, far more than any code's.
        let mut blank = Grid::new(1);
        let blank_penalty = blank.penalty();
        blank.place(&codewords(b"x", 1).unwrap());
        blank.mask(0);
        assert!(
            blank.penalty() < blank_penalty,
            "{} {blank_penalty}",
            blank.penalty()
        );
        // A finder-like run with four light modules beside it, in a line
        // of its own: 40 for it (and the runs and blocks around it).
        let h = [5, 1, 1, 3, 1, 1, 4];
        assert_eq!(finder_like(&h), 2);
        assert_eq!(finder_like(&[0, 1, 1, 3, 1, 1, 0]), 0);
    }

    #[test]
    fn a_link_makes_a_square_code_in_its_quiet_zone() {
        let (size, path) = path("https://portal.example/r/0123456789ab").unwrap();
        // Version 3 (29 modules) at level M for a 37-byte link, plus 8.
        assert_eq!(size, 37);
        assert!(
            path.starts_with("M4 4h7v1h-7z"),
            "the finder's top row: {path}"
        );
        assert_ne!(
            path,
            self::path("https://portal.example/r/0123456789ac")
                .unwrap()
                .1
        );
        let svg = svg("x").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(self::path(&"x".repeat(214)).is_none(), "past version 10");
        assert!(self::path(&"x".repeat(213)).is_some());
    }
}
