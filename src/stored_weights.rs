//! Widens weights stored smaller than f32 in the ONNX graph, before tract reads it.
//!
//! The shipped model stores its large weights as int8 per output channel, each read through a
//! `DequantizeLinear` (a quarter of f32's download; `tools/quantize.py`); earlier models stored
//! f16 read through a `Cast` to f32. tract folds such nodes itself, but slowly: it evaluates each
//! one during type analysis and folds it again while decluttering, and with 23 million weights
//! that is most of the plan build (in Chromium 1.3 s → 0.7 s once the casts are gone). Here each
//! "f16 initializer → Cast(to = FLOAT)" and each "int8 initializers → DequantizeLinear" becomes
//! one f32 initializer under the node's output name, computed as ONNX defines it (f16 → f32 is
//! exact; `(q − zero) · scale` is what onnxruntime computes too).

use std::collections::{HashMap, HashSet};
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};

const FLOAT: i32 = 1;
const INT8: i32 = 3;
const FLOAT16: i32 = 10;

/// How one node's output is computed from initializers (their indices).
enum Widening {
    /// `Cast(to = FLOAT)` of an f16 tensor.
    Half(usize),
    /// `DequantizeLinear(q, scale, zero?)` of an int8 tensor along `axis`.
    Int8 { q: usize, scale: usize, zero: Option<usize>, axis: usize },
}

impl Widening {
    fn sources(&self) -> Vec<usize> {
        match *self {
            Widening::Half(t) => vec![t],
            Widening::Int8 { q, scale, zero, .. } => [Some(q), Some(scale), zero].into_iter().flatten().collect(),
        }
    }
}

/// Folds every widening of a stored f16 or int8 initializer into an f32 initializer; returns
/// how many. Each source tensor is freed as soon as it is widened, so that the stored and the
/// widened copies of all the weights never coexist (wasm memory, once grown, stays grown).
pub(crate) fn widen_stored_weights(model: &mut ModelProto) -> usize {
    let Some(graph) = model.graph.as_mut() else { return 0 };
    let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let stored: HashMap<&str, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let init = |name: &str, data_type: i32, bytes_per_value: usize| -> Option<usize> {
        let &i = stored.get(name)?;
        let t = &graph.initializer[i];
        (t.data_type == data_type && t.raw_data.len() == bytes_per_value * elements(t)).then_some(i)
    };
    let foldable: Vec<(usize, Widening)> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| n.domain.is_empty() && n.output.len() == 1 && !outputs.contains(n.output[0].as_str()))
        .filter_map(|(ni, n)| {
            if is_cast_to_float(n) {
                return Some((ni, Widening::Half(init(&n.input[0], FLOAT16, 2)?)));
            }
            if n.op_type != "DequantizeLinear" || !(2..=3).contains(&n.input.len()) {
                return None;
            }
            let q = init(&n.input[0], INT8, 1)?;
            let scale = init(&n.input[1], FLOAT, 4)?;
            let zero = match n.input.get(2).filter(|z| !z.is_empty()) {
                Some(z) => Some(init(z, INT8, 1)?),
                None => None,
            };
            let rank = graph.initializer[q].dims.len() as i64;
            // ONNX's default axis is 1; negative axes count from the end.
            let axis = n.attribute.iter().find(|a| a.name == "axis").map_or(1, |a| a.i);
            let axis = if axis < 0 { axis + rank } else { axis };
            let channels = elements(&graph.initializer[scale]);
            let per_axis =
                usize::try_from(axis).ok().filter(|&a| a < rank as usize).map(|a| graph.initializer[q].dims[a]);
            let fits = channels == 1 || per_axis == Some(channels as i64);
            let zero_fits = zero.is_none_or(|z| elements(&graph.initializer[z]) == channels);
            (fits && zero_fits).then(|| (ni, Widening::Int8 { q, scale, zero, axis: axis.max(0) as usize }))
        })
        .collect();
    let folded: HashSet<usize> = foldable.iter().map(|&(ni, _)| ni).collect();
    // A stored tensor some other node reads too must outlive its widening.
    let kept: HashSet<String> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(ni, _)| !folded.contains(ni))
        .flat_map(|(_, n)| n.input.iter().cloned())
        .collect();
    let mut consumed = HashSet::new();
    for (ni, widening) in &foldable {
        let name = &graph.node[*ni].output[0];
        let wide = match *widening {
            Widening::Half(t) => widen_half(&graph.initializer[t], name),
            Widening::Int8 { q, scale, zero, axis } => dequantize(
                &graph.initializer[q],
                &graph.initializer[scale],
                zero.map(|z| &graph.initializer[z]),
                axis,
                name,
            ),
        };
        for t in widening.sources() {
            if !kept.contains(&graph.initializer[t].name) {
                graph.initializer[t].raw_data = Vec::new();
                consumed.insert(graph.initializer[t].name.clone());
            }
        }
        graph.initializer.push(wide);
    }
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        !folded.contains(&(index - 1))
    });
    graph.initializer.retain(|t| !consumed.contains(&t.name));
    folded.len()
}

fn is_cast_to_float(node: &NodeProto) -> bool {
    node.op_type == "Cast"
        && node.input.len() == 1
        && node.attribute.iter().any(|a| a.name == "to" && a.i == FLOAT as i64)
}

fn elements(t: &TensorProto) -> usize {
    t.dims.iter().map(|&d| d.max(0) as usize).product()
}

fn f32_tensor(name: &str, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
    TensorProto { name: name.to_string(), dims: dims.to_vec(), data_type: FLOAT, raw_data, ..Default::default() }
}

/// `(q − zero) · scale`, `scale` and `zero` per index along `axis` (or one for all).
fn dequantize(
    q: &TensorProto,
    scale: &TensorProto,
    zero: Option<&TensorProto>,
    axis: usize,
    name: &str,
) -> TensorProto {
    let scales: Vec<f32> =
        scale.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let zeros: Vec<i8> = zero.map_or_else(|| vec![0; scales.len()], |z| z.raw_data.iter().map(|&b| b as i8).collect());
    // The values of one index along the axis come in runs of `inner` (the product of the later
    // dimensions), the runs cycling through the indices: one scale per run, no division per value.
    let inner = q.dims.iter().skip(axis + 1).map(|&d| d.max(0) as usize).product::<usize>().max(1);
    let channels = scales.len();
    let mut raw_data = Vec::with_capacity(q.raw_data.len() * 4);
    for (run, bytes) in q.raw_data.chunks(inner).enumerate() {
        let c = if channels == 1 { 0 } else { run % channels };
        let (zero, scale) = (f32::from(zeros[c]), scales[c]);
        for &byte in bytes {
            raw_data.extend_from_slice(&((f32::from(byte as i8) - zero) * scale).to_le_bytes());
        }
    }
    f32_tensor(name, &q.dims, raw_data)
}

fn widen_half(t: &TensorProto, name: &str) -> TensorProto {
    let mut raw_data = vec![0u8; t.raw_data.len() * 2];
    for (wide, half) in raw_data.chunks_exact_mut(4).zip(t.raw_data.chunks_exact(2)) {
        wide.copy_from_slice(&f16_to_f32(u16::from_le_bytes([half[0], half[1]])).to_le_bytes());
    }
    f32_tensor(name, &t.dims, raw_data)
}

/// IEEE half → single, exactly, subnormals, infinities and NaN included: every case computed,
/// one selected. Written out rather than taken from the `half` crate, which has no fast path on
/// wasm32 (the widening is ~50 ms natively, most of it allocating the f32 copies).
fn f16_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let sign = (h & 0x8000) << 16;
    let magnitude = h & 0x7fff;
    // Normal: move the exponent from bias 15 to bias 127.
    let normal = (magnitude << 13) + ((127 - 15) << 23);
    // Infinity and NaN: all-ones exponent, mantissa (the NaN payload) kept.
    let special = (magnitude << 13) | 0x7f80_0000;
    // Zero and subnormal: mantissa × 2^-24, exact in f32.
    let subnormal = (magnitude as f32 * f32::from_bits(0x3380_0000)).to_bits();
    let bits = if magnitude >= 0x7c00 {
        special
    } else if magnitude < 0x0400 {
        subnormal
    } else {
        normal
    };
    f32::from_bits(sign | bits)
}

#[cfg(test)]
mod tests {
    use super::{f16_to_f32, widen_stored_weights, FLOAT, FLOAT16, INT8};
    use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

    fn node(op: &str, input: &str, output: &str, to: Option<i64>) -> NodeProto {
        let attribute = to.map(|i| AttributeProto { name: "to".into(), i, ..Default::default() }).into_iter().collect();
        NodeProto {
            op_type: op.into(),
            input: vec![input.into()],
            output: vec![output.into()],
            attribute,
            ..Default::default()
        }
    }

    fn half(name: &str, values: &[u16]) -> TensorProto {
        let raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorProto {
            name: name.into(),
            dims: vec![values.len() as i64],
            data_type: FLOAT16,
            raw_data,
            ..Default::default()
        }
    }

    #[test]
    fn casts_of_f16_weights_become_f32_weights() {
        // "a" is read by its cast only; "b" by its cast and by another node, so it must stay;
        // the cast to f16 of "c" is not a widening and stays too.
        let graph = GraphProto {
            initializer: vec![half("a", &[0x3c00, 0xc000]), half("b", &[0x3800]), half("c", &[0])],
            node: vec![
                node("Cast", "a", "a32", Some(FLOAT as i64)),
                node("Cast", "b", "b32", Some(FLOAT as i64)),
                node("Identity", "b", "b_again", None),
                node("Cast", "c", "c16", Some(FLOAT16 as i64)),
            ],
            ..Default::default()
        };
        let mut model = ModelProto { graph: Some(graph), ..Default::default() };
        assert_eq!(widen_stored_weights(&mut model), 2);
        let graph = model.graph.unwrap();
        let ops: Vec<(&str, &str)> = graph.node.iter().map(|n| (n.op_type.as_str(), n.input[0].as_str())).collect();
        assert_eq!(ops, [("Identity", "b"), ("Cast", "c")]);
        let find = |name: &str| graph.initializer.iter().find(|t| t.name == name);
        assert!(find("a").is_none(), "an f16 tensor nothing reads any more is dropped");
        assert_eq!(find("b").unwrap().raw_data, 0x3800u16.to_le_bytes(), "an f16 tensor still read keeps its data");
        let floats = |t: &TensorProto| -> Vec<f32> {
            t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        let a32 = find("a32").unwrap();
        assert_eq!((a32.data_type, floats(a32)), (FLOAT, vec![1.0, -2.0]));
        assert_eq!(floats(find("b32").unwrap()), [0.5]);
    }

    fn tensor(name: &str, data_type: i32, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type, raw_data, ..Default::default() }
    }

    #[test]
    fn int8_weights_are_dequantized_per_channel_as_onnx_defines() {
        // q: [2 channels, 3]; scale and zero per channel along axis 0.
        let q: Vec<u8> = [1i8, -2, 3, 10, 0, -10].iter().map(|&v| v as u8).collect();
        let scale: Vec<u8> = [0.5f32, 0.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let zero: Vec<u8> = [0i8, 2].iter().map(|&v| v as u8).collect();
        let mut dq = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into(), "z".into()],
            output: vec!["w".into()],
            ..Default::default()
        };
        dq.attribute.push(tract_onnx::pb::AttributeProto { name: "axis".into(), i: 0, ..Default::default() });
        let graph = GraphProto {
            initializer: vec![
                tensor("q", INT8, &[2, 3], q),
                tensor("s", FLOAT, &[2], scale),
                tensor("z", INT8, &[2], zero),
            ],
            node: vec![dq, node("Identity", "w", "out", None)],
            ..Default::default()
        };
        let mut model = ModelProto { graph: Some(graph), ..Default::default() };
        assert_eq!(widen_stored_weights(&mut model), 1);
        let graph = model.graph.unwrap();
        assert_eq!(graph.node.len(), 1);
        assert_eq!(graph.initializer.len(), 1, "q, scale and zero are gone");
        let w = &graph.initializer[0];
        let values: Vec<f32> =
            w.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!((w.name.as_str(), w.dims.as_slice()), ("w", [2i64, 3].as_slice()));
        assert_eq!(values, [0.5, -1.0, 1.5, 2.0, -0.5, -3.0]);
    }

    #[test]
    fn f16_widening_is_exact() {
        // Every one of the 65536 halves against the definition of the format.
        for h in 0..=u16::MAX {
            let sign = if h & 0x8000 != 0 { -1.0f64 } else { 1.0 };
            let (e, m) = (i32::from((h >> 10) & 0x1f), f64::from(h & 0x3ff));
            let want = match e {
                0 => sign * m * 2f64.powi(-24),
                31 if m == 0.0 => sign * f64::INFINITY,
                31 => f64::NAN,
                _ => sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
            };
            let got = f64::from(f16_to_f32(h));
            assert!(got == want || (got.is_nan() && want.is_nan()), "{h:#06x}: {got} != {want}");
            if !want.is_nan() {
                assert_eq!(got.is_sign_negative(), sign < 0.0, "{h:#06x}: sign");
            }
        }
    }
}
