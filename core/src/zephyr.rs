//! The Zephyr qubit graph `Z(m, t)` of D-Wave annealers, and the 4-colouring that splits it
//! into the partitions of a 4-partite Boltzmann machine.
//!
//! [`Zephyr`] is `dwave_networkx.zephyr_graph(m, t)` with linear labels, computed on the fly from
//! coordinates: no adjacency is stored, and [`Zephyr::neighbours`] and [`Zephyr::edges`] are allocation-free
//! state machines.
//!
//! # Coordinates
//! A qubit is `(u, w, k, j, z)`: orientation `u` in `0..2`, orthogonal offset `w` in
//! `0..2m+1`, track `k` in `0..t`, minor offset `j` in `0..2` and parallel offset `z` in
//! `0..m`. Its linear index is `q = (((u(2m+1) + w)t + k)2 + j)m + z`, as in dwave-networkx's
//! `zephyr_coordinates.linear_to_zephyr`.
//!
//! Seen in the `(2m+1) x (2m+1)` grid of cells underneath, the qubit lies on line `w` of
//! orientation `u` and covers the two cells `s` and `s + 1` along it, where `s = 2z + j`.
//! Two qubits are coupled when
//! - they lie on the same line (same `u`, `w`, `k`) and `|s - s'|` is 1 (odd coupler) or
//!   2 (external coupler), or
//! - they have different orientations and cross (internal coupler): each one's `w` is a cell
//!   the other covers.
//!
//! # Invariants
//! - `m >= 1`, `t >= 1` and the node count `4tm(2m+1)` fits in `u32`, so every qubit
//!   label fits in a `u32`.
//! - Neighbours come in ascending order; edges `(a, b)` have `a < b` and come in ascending
//!   lexicographic order, each exactly once.
//! - The colouring `(2u + w + 2z + j) mod 4` is proper: no edge joins two qubits of one
//!   colour. Each colour class is therefore an independent set that a Gibbs sampler can
//!   update in one parallel step.

use core::fmt;

/// The Zephyr coordinates `(u, w, k, j, z)` of a qubit; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Coord {
    /// Orientation: 0 vertical, 1 horizontal.
    pub u: usize,
    /// Orthogonal major offset, `0..2m+1`.
    pub w: usize,
    /// Orthogonal secondary offset (track), `0..t`.
    pub k: usize,
    /// Orthogonal minor offset, `0..2`.
    pub j: usize,
    /// Parallel offset, `0..m`.
    pub z: usize,
}

impl Coord {
    /// The qubit's colour `(2u + w + 2z + j) mod 4`, as in
    /// `dwave_networkx.zephyr_four_color(q, scheme=1)`.
    pub fn color(&self) -> u8 {
        // Wrapping arithmetic stays exact mod 4 because 4 divides 2^usize::BITS.
        let sum = self.u.wrapping_mul(2).wrapping_add(self.w).wrapping_add(self.z.wrapping_mul(2)).wrapping_add(self.j);
        (sum % 4) as u8
    }
}

/// Why a Zephyr graph or a selection of its qubits could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopologyError {
    /// `m` or `t` is zero.
    EmptyGrid,
    /// The node count does not fit in `u32`, or the edge count in `usize`.
    TooLarge,
    /// A colour class has fewer qubits than requested.
    ClassTooSmall {
        /// The colour, `0..4`.
        color: u8,
        /// Qubits of that colour in the graph.
        available: usize,
        /// Qubits requested per colour.
        requested: usize,
    },
    /// The output buffer is shorter than the `4n` qubits requested.
    BufferTooSmall {
        /// Slots needed.
        needed: usize,
        /// Slots given.
        len: usize,
    },
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EmptyGrid => f.write_str("zephyr graph needs m >= 1 and t >= 1"),
            Self::TooLarge => f.write_str("zephyr graph too large: qubit labels must fit in u32"),
            Self::ClassTooSmall { color, available, requested } => {
                write!(f, "colour class {color} has {available} qubits, {requested} requested")
            }
            Self::BufferTooSmall { needed, len } => {
                write!(f, "output buffer holds {len} qubits, {needed} needed")
            }
        }
    }
}

impl core::error::Error for TopologyError {}

/// The Zephyr graph `Z(m, t)`, labelled by linear index; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zephyr {
    m: usize,
    t: usize,
    num_nodes: usize,
    num_edges: usize,
}

impl Zephyr {
    /// The graph `Z(m, t)`, i.e. `dwave_networkx.zephyr_graph(m, t)`.
    ///
    /// Fails with [`TopologyError::EmptyGrid`] if `m` or `t` is zero, and with
    /// [`TopologyError::TooLarge`] if the node count `4tm(2m+1)` exceeds `u32::MAX` (or the
    /// edge count `usize::MAX`).
    pub fn new(m: usize, t: usize) -> Result<Self, TopologyError> {
        if m == 0 || t == 0 {
            return Err(TopologyError::EmptyGrid);
        }
        let (num_nodes, num_edges) = sizes(m, t).ok_or(TopologyError::TooLarge)?;
        Ok(Self { m, t, num_nodes, num_edges })
    }

    /// The grid parameter `m`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// The tile parameter `t`.
    pub fn t(&self) -> usize {
        self.t
    }

    /// The number of qubits, `4tm(2m+1)`; the labels are `0..num_nodes()`.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// The number of couplers, `2t(8(t+1)m^2 - 2m - 3)`; [`Zephyr::edges`] yields this many.
    pub fn num_edges(&self) -> usize {
        self.num_edges
    }

    /// The coordinates of qubit `q`, or `None` if `q >= num_nodes()`.
    pub fn coord(&self, q: usize) -> Option<Coord> {
        (q < self.num_nodes).then(|| self.decompose(q))
    }

    /// The linear index of `c`, or `None` if a coordinate is out of range.
    pub fn linear(&self, c: Coord) -> Option<usize> {
        let in_range = c.u < 2 && c.w < 2 * self.m + 1 && c.k < self.t && c.j < 2 && c.z < self.m;
        in_range.then(|| self.index(c.u, c.w, c.k, 2 * c.z + c.j))
    }

    /// The colour of qubit `q` (see [`Coord::color`]), or `None` if `q >= num_nodes()`.
    pub fn color(&self, q: usize) -> Option<u8> {
        self.coord(q).map(|c| c.color())
    }

    /// The neighbours of qubit `q` in ascending order, or `None` if `q >= num_nodes()`.
    ///
    /// A qubit has `4t + 4` neighbours when `1 <= w <= 2m - 1` and `2 <= 2z + j <= 2m - 3`,
    /// fewer nearer the boundary.
    pub fn neighbours(&self, q: usize) -> Option<Neighbours> {
        self.coord(q).map(|c| Neighbours::new(*self, c))
    }

    /// Every coupler `(a, b)` once, with `a < b`, in ascending lexicographic order.
    pub fn edges(&self) -> Edges {
        Edges { a: 0, neighbours: Neighbours::new(*self, self.decompose(0)) }
    }

    /// Writes the first `n` qubits, in linear order, of each colour class 0, 1, 2, 3 to
    /// `out`, grouped by colour (colour 0's `n`, then colour 1's, ...), and returns `4n`.
    ///
    /// This is how the reference models pick their units. Fails, leaving `out` unchanged,
    /// if a class has fewer than `n` qubits or `out` holds fewer than `4n`.
    pub fn select_per_partition(&self, n: usize, out: &mut [u32]) -> Result<usize, TopologyError> {
        self.select_by(n, out, |q| q)
    }

    /// Writes the `n` qubits of each colour class nearest the centre of the graph to `out`,
    /// grouped by colour as in [`Zephyr::select_per_partition`] and in linear order within a
    /// colour, and returns `4n`.
    ///
    /// A qubit's position is the midpoint of the two cells it covers in the `(2m+1) x (2m+1)`
    /// grid of cells (see the [module docs](self)): `w + 1/2` across its line and `s + 1`
    /// along it, `s = 2z + j`; the `t` tracks `k` of a cell share its position. Distance is
    /// Euclidean from the grid's centre `(m + 1/2, m + 1/2)`, ties go to the lower linear
    /// index. Fails, leaving `out` unchanged, as [`Zephyr::select_per_partition`] does.
    pub fn select_central(&self, n: usize, out: &mut [u32]) -> Result<usize, TopologyError> {
        self.select_by(n, out, |q| (self.centre_distance(q), q))
    }

    /// Squared distance of qubit `q < num_nodes()` from the grid's centre, in half cells.
    fn centre_distance(&self, q: usize) -> usize {
        let Coord { w, j, z, .. } = self.decompose(q);
        let across = (2 * w).abs_diff(2 * self.m);
        let along = (2 * (2 * z + j) + 1).abs_diff(2 * self.m);
        across * across + along * along
    }

    /// Writes the `n` qubits of least `key` of each colour class to `out`, in linear order
    /// within a class. Keys must be distinct.
    fn select_by<K: Ord>(&self, n: usize, out: &mut [u32], key: impl Fn(usize) -> K) -> Result<usize, TopologyError> {
        let mut sizes = [0usize; 4];
        for q in 0..self.num_nodes {
            sizes[usize::from(self.decompose(q).color())] += 1;
        }
        for (color, &available) in (0u8..).zip(&sizes) {
            if available < n {
                return Err(TopologyError::ClassTooSmall { color, available, requested: n });
            }
        }
        // n is at most a class size here, so 4n <= num_nodes cannot overflow.
        let needed = 4 * n;
        if out.len() < needed {
            return Err(TopologyError::BufferTooSmall { needed, len: out.len() });
        }
        for color in 0..4u8 {
            let start = usize::from(color) * n;
            let chosen = &mut out[start..start + n];
            let mut len = 0;
            for q in (0..self.num_nodes).filter(|&q| self.decompose(q).color() == color) {
                let key_q = key(q);
                let pos = chosen[..len].partition_point(|&p| key(p as usize) < key_q);
                if pos < n {
                    let end = len.min(n - 1);
                    chosen.copy_within(pos..end, pos + 1);
                    // Fits: new() bounds the node count by u32::MAX.
                    chosen[pos] = q as u32;
                    len = end + 1;
                }
            }
            chosen.sort_unstable();
        }
        Ok(needed)
    }

    /// The coordinates of `q`, which must be below `num_nodes()`.
    fn decompose(&self, q: usize) -> Coord {
        let (r, z) = (q / self.m, q % self.m);
        let (r, j) = (r / 2, r % 2);
        let (r, k) = (r / self.t, r % self.t);
        let (u, w) = (r / (2 * self.m + 1), r % (2 * self.m + 1));
        Coord { u, w, k, j, z }
    }

    /// The linear index of the qubit at cell offset `s = 2z + j` on line `(u, w, k)`.
    fn index(&self, u: usize, w: usize, k: usize, s: usize) -> usize {
        (((u * (2 * self.m + 1) + w) * self.t + k) * 2 + s % 2) * self.m + s / 2
    }
}

/// The node and edge counts of `Z(m, t)`, `m, t >= 1`, or `None` if the node count exceeds
/// `u32::MAX` or the edge count `usize::MAX`.
fn sizes(m: usize, t: usize) -> Option<(usize, usize)> {
    let lines = m.checked_mul(2)?.checked_add(1)?;
    let nodes = 4usize.checked_mul(t)?.checked_mul(m)?.checked_mul(lines)?;
    u32::try_from(nodes).ok()?;
    // Per line of 2m qubits, 2m - 1 odd and 2m - 2 external couplers, on 2(2m+1)t lines,
    // plus 16 m^2 t^2 internal ones: 2t(8(t+1)m^2 - 2m - 3) in all. With 4tm(2m+1) below
    // 2^32, only the products can overflow.
    let edges = (t + 1).checked_mul(8)?.checked_mul(m)?.checked_mul(m)?.checked_sub(2 * m + 3)?.checked_mul(2 * t)?;
    Some((nodes, edges))
}

/// Iterator over the neighbours of a qubit in ascending order; see [`Zephyr::neighbours`].
#[derive(Debug, Clone)]
pub struct Neighbours {
    zephyr: Zephyr,
    u: usize,
    w: usize,
    k: usize,
    s: usize,
    slot: usize,
}

impl Neighbours {
    fn new(zephyr: Zephyr, c: Coord) -> Self {
        Self { zephyr, u: c.u, w: c.w, k: c.k, s: 2 * c.z + c.j, slot: 0 }
    }

    /// Candidate neighbour number `slot` of `4t + 4`, or `None` where it falls off the grid.
    ///
    /// Slots run in ascending linear index: every qubit of orientation 1 has a higher index
    /// than every qubit of orientation 0, so a vertical qubit's line partners come first and a
    /// horizontal qubit's crossing partners do; within a line, all `j = 0` precede `j = 1`.
    fn candidate(&self, slot: usize) -> Option<usize> {
        let Self { zephyr, u, w, k, s, .. } = *self;
        let crossing = 4 * zephyr.t;
        let (along, r) = match (u, slot) {
            (0, 0..4) => (true, slot),
            (0, _) => (false, slot - 4),
            (_, _) if slot < crossing => (false, slot),
            (_, _) => (true, slot - crossing),
        };
        // Cell offsets s run over 0..2m on every line.
        let cells = 2 * zephyr.m;
        if along {
            // r / 2 is the partner's parity (its j); r % 2 picks the lower or upper one.
            let d = if s % 2 == r / 2 { 2 } else { 1 };
            let s2 = if r % 2 == 0 { s.checked_sub(d)? } else { s + d };
            (s2 < cells).then(|| zephyr.index(u, w, k, s2))
        } else {
            // The partner lies on line w2 in {s, s + 1}, track h, and covers cell w: its
            // offset s2 is w - 1 or w, whichever has parity r % 2 (its j).
            let w2 = s + r / (2 * zephyr.t);
            let h = r / 2 % zephyr.t;
            let s2 = w.checked_sub((w + r) % 2)?;
            (s2 < cells).then(|| zephyr.index(1 - u, w2, h, s2))
        }
    }
}

impl Iterator for Neighbours {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.slot < 4 * self.zephyr.t + 4 {
            self.slot += 1;
            if let Some(q) = self.candidate(self.slot - 1) {
                return Some(q);
            }
        }
        None
    }
}

impl core::iter::FusedIterator for Neighbours {}

/// Iterator over the couplers `(a, b)`, `a < b`, in ascending order; see [`Zephyr::edges`].
#[derive(Debug, Clone)]
pub struct Edges {
    a: usize,
    neighbours: Neighbours,
}

impl Iterator for Edges {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            match self.neighbours.next() {
                Some(b) if b > self.a => return Some((self.a, b)),
                Some(_) => {}
                None => {
                    let zephyr = self.neighbours.zephyr;
                    let c = zephyr.coord(self.a + 1)?;
                    self.a += 1;
                    self.neighbours = Neighbours::new(zephyr, c);
                }
            }
        }
    }
}

impl core::iter::FusedIterator for Edges {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs `(m, t)` the exhaustive checks run on.
    fn sizes_under_test() -> impl Iterator<Item = Zephyr> {
        (1..=7).flat_map(|m| (1..=6).map(move |t| Zephyr::new(m, t).unwrap()))
    }

    #[test]
    fn counts_match_dwave_networkx() {
        for (m, t, nodes, edges) in
            [(1, 4, 48, 280), (2, 4, 160, 1224), (6, 4, 1248, 11400), (1, 1, 12, 22), (12, 4, 4800, 45864)]
        {
            let z = Zephyr::new(m, t).unwrap();
            assert_eq!((z.m(), z.t()), (m, t));
            assert_eq!((z.num_nodes(), z.num_edges()), (nodes, edges), "Z({m},{t})");
        }
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(Zephyr::new(0, 4), Err(TopologyError::EmptyGrid));
        assert_eq!(Zephyr::new(4, 0), Err(TopologyError::EmptyGrid));
        assert_eq!(Zephyr::new(usize::MAX, 1), Err(TopologyError::TooLarge));
        assert_eq!(Zephyr::new(1, usize::MAX), Err(TopologyError::TooLarge));
        // 4 * 23170 * 46341 = 4_294_883_880 <= u32::MAX < 4 * 23171 * 46343.
        assert_eq!(Zephyr::new(23171, 1), Err(TopologyError::TooLarge));
        #[cfg(target_pointer_width = "64")]
        assert_eq!(Zephyr::new(23170, 1).map(|z| z.num_nodes()), Ok(4_294_883_880));
    }

    #[test]
    fn coordinates_match_dwave_networkx_examples() {
        let z = Zephyr::new(2, 4).unwrap();
        let c = Coord { u: 0, w: 1, k: 2, j: 1, z: 0 };
        assert_eq!(z.linear(c), Some(26));
        let c = Coord { u: 1, w: 3, k: 2, j: 0, z: 1 };
        assert_eq!(z.coord(137), Some(c));
    }

    #[test]
    fn coord_round_trips() {
        for z in sizes_under_test() {
            for q in 0..z.num_nodes() {
                let c = z.coord(q).unwrap();
                assert_eq!(z.linear(c), Some(q));
            }
            assert_eq!(z.coord(z.num_nodes()), None);
            assert_eq!(z.color(z.num_nodes()), None);
            assert!(z.neighbours(z.num_nodes()).is_none());
            let last = z.coord(z.num_nodes() - 1).unwrap();
            for c in [
                Coord { u: 2, ..last },
                Coord { w: last.w + 1, ..last },
                Coord { k: last.k + 1, ..last },
                Coord { j: 2, ..last },
                Coord { z: last.z + 1, ..last },
            ] {
                assert_eq!(z.linear(c), None);
            }
        }
    }

    #[test]
    fn colouring_is_proper() {
        for z in sizes_under_test() {
            for (a, b) in z.edges() {
                assert_ne!(z.color(a), z.color(b), "Z({},{}) edge ({a},{b})", z.m(), z.t());
            }
        }
    }

    #[test]
    fn edges_are_sorted_unique_and_counted() {
        for z in sizes_under_test() {
            let mut count = 0;
            let mut previous = None;
            for (a, b) in z.edges() {
                assert!(a < b && b < z.num_nodes());
                assert!(previous < Some((a, b)));
                previous = Some((a, b));
                count += 1;
            }
            assert_eq!(count, z.num_edges(), "Z({},{})", z.m(), z.t());
        }
    }

    #[test]
    fn neighbours_are_sorted_symmetric_and_degrees_sum() {
        for z in sizes_under_test() {
            let mut degree_sum = 0;
            for q in 0..z.num_nodes() {
                let mut previous = None;
                for p in z.neighbours(q).unwrap() {
                    assert!(previous < Some(p) && p < z.num_nodes() && p != q);
                    assert!(z.neighbours(p).unwrap().any(|r| r == q));
                    previous = Some(p);
                    degree_sum += 1;
                }
            }
            assert_eq!(degree_sum, 2 * z.num_edges());
        }
    }

    #[test]
    fn degree_is_4t_plus_4_exactly_in_the_bulk() {
        for z in sizes_under_test() {
            let m = z.m();
            for q in 0..z.num_nodes() {
                let c = z.coord(q).unwrap();
                let s = 2 * c.z + c.j;
                let bulk = (1..2 * m).contains(&c.w) && (2..2 * m - 2).contains(&s);
                let degree = z.neighbours(q).unwrap().count();
                assert!(degree <= 4 * z.t() + 4);
                assert_eq!(degree == 4 * z.t() + 4, bulk, "Z({m},{}) q {q}", z.t());
            }
        }
    }

    #[test]
    fn select_per_partition_matches_reference_model() {
        let z = Zephyr::new(1, 4).unwrap();
        let mut out = [0; 29];
        assert_eq!(z.select_per_partition(7, &mut out), Ok(28));
        let expected =
            [0, 2, 4, 6, 33, 35, 37, 1, 3, 5, 7, 8, 10, 12, 9, 11, 13, 15, 16, 18, 20, 17, 19, 21, 23, 25, 27, 29];
        assert_eq!(out[..28], expected);
        assert_eq!(out[28], 0);
    }

    #[test]
    fn selection_errors_leave_out_unchanged() {
        let z = Zephyr::new(1, 4).unwrap();
        let mut out = [u32::MAX; 48];
        let too_many = TopologyError::ClassTooSmall { color: 0, available: 12, requested: 13 };
        assert_eq!(z.select_per_partition(13, &mut out), Err(too_many));
        assert_eq!(
            z.select_central(usize::MAX, &mut out),
            Err(TopologyError::ClassTooSmall { color: 0, available: 12, requested: usize::MAX })
        );
        let short = TopologyError::BufferTooSmall { needed: 12, len: 11 };
        assert_eq!(z.select_central(3, &mut out[..11]), Err(short));
        assert!(out.iter().all(|&q| q == u32::MAX));
        assert_eq!(z.select_per_partition(0, &mut []), Ok(0));
        assert_eq!(z.select_per_partition(12, &mut out), Ok(48));
    }

    #[test]
    fn select_central_picks_the_nearest_of_each_class() {
        for z in sizes_under_test() {
            let key = |q: usize| (z.centre_distance(q), q);
            for n in [1, 3, z.num_nodes() / 4] {
                let mut out = [0; 2520];
                assert_eq!(z.select_central(n, &mut out), Ok(4 * n));
                for (color, chosen) in (0u8..).zip(out[..4 * n].chunks(n)) {
                    assert!(chosen.windows(2).all(|p| p[0] < p[1]));
                    let chosen = |q: usize| chosen.contains(&(q as u32));
                    let worst_in = (0..z.num_nodes()).filter(|&q| chosen(q)).map(key).max();
                    let best_out =
                        (0..z.num_nodes()).filter(|&q| z.color(q) == Some(color) && !chosen(q)).map(key).min();
                    assert!((0..z.num_nodes()).filter(|&q| chosen(q)).all(|q| z.color(q) == Some(color)));
                    assert!(best_out.is_none() || worst_in < best_out);
                }
            }
        }
    }

    #[test]
    fn select_central_of_z1_is_symmetric_around_the_middle_cell() {
        // Z(1, t) has a 3 x 3 cell grid; the qubits nearest its centre lie on the middle
        // line w = 1.
        let z = Zephyr::new(1, 4).unwrap();
        let mut out = [0; 4];
        assert_eq!(z.select_central(1, &mut out), Ok(4));
        for q in out {
            assert_eq!(z.coord(q as usize).unwrap().w, 1);
        }
    }

    #[test]
    fn errors_display() {
        extern crate std;
        use std::string::ToString;
        let e = TopologyError::BufferTooSmall { needed: 28, len: 4 };
        assert_eq!(e.to_string(), "output buffer holds 4 qubits, 28 needed");
        let _: &dyn core::error::Error = &e;
    }
}
