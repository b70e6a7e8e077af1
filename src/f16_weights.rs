//! Widens f16-stored weights to f32 in the ONNX graph before tract reads it.
//!
//! The shipped model stores its large weights as f16, each read through a `Cast` to f32 (half
//! the download). tract folds those casts itself, but slowly: it evaluates each one during type
//! analysis and folds it again while decluttering, and with 23 million weights that is most of
//! the plan build (in Chromium 1.3 s → 0.7 s once the casts are gone). Here each
//! "f16 initializer → Cast(to = FLOAT)" pair becomes one f32 initializer under the cast's
//! output name. f16 → f32 is exact, so the plan computes the same numbers.

use std::collections::{HashMap, HashSet};
use tract_onnx::pb::{ModelProto, TensorProto};

const FLOAT: i32 = 1;
const FLOAT16: i32 = 10;

/// Folds every cast of an f16 initializer to f32 into an f32 initializer; returns how many.
/// Each f16 tensor is freed as soon as it is widened, so that the two copies of all the weights
/// never coexist (wasm memory, once grown, stays grown).
pub(crate) fn fold_f16_casts(model: &mut ModelProto) -> usize {
    let Some(graph) = model.graph.as_mut() else { return 0 };
    let outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let f16: HashMap<&str, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .filter(|(_, t)| t.data_type == FLOAT16 && t.raw_data.len() == 2 * elements(t))
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let foldable: Vec<(usize, usize)> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| is_cast_to_float(n) && !outputs.contains(n.output[0].as_str()))
        .filter_map(|(ni, n)| f16.get(n.input[0].as_str()).map(|&ti| (ni, ti)))
        .collect();
    let folded: HashSet<usize> = foldable.iter().map(|&(ni, _)| ni).collect();
    // An f16 tensor some other node reads too must outlive its widening.
    let kept: HashSet<String> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(ni, _)| !folded.contains(ni))
        .flat_map(|(_, n)| n.input.iter().cloned())
        .collect();
    for &(ni, ti) in &foldable {
        let wide = widen(&graph.initializer[ti], &graph.node[ni].output[0]);
        if !kept.contains(&graph.initializer[ti].name) {
            graph.initializer[ti].raw_data = Vec::new();
        }
        graph.initializer.push(wide);
    }
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        !folded.contains(&(index - 1))
    });
    graph.initializer.retain(|t| t.data_type != FLOAT16 || kept.contains(&t.name));
    folded.len()
}

fn is_cast_to_float(node: &tract_onnx::pb::NodeProto) -> bool {
    node.op_type == "Cast"
        && node.domain.is_empty()
        && node.input.len() == 1
        && node.output.len() == 1
        && node.attribute.iter().any(|a| a.name == "to" && a.i == FLOAT as i64)
}

fn elements(t: &TensorProto) -> usize {
    t.dims.iter().map(|&d| d.max(0) as usize).product()
}

fn widen(t: &TensorProto, name: &str) -> TensorProto {
    let mut raw_data = vec![0u8; t.raw_data.len() * 2];
    for (wide, half) in raw_data.chunks_exact_mut(4).zip(t.raw_data.chunks_exact(2)) {
        wide.copy_from_slice(&f16_to_f32(u16::from_le_bytes([half[0], half[1]])).to_le_bytes());
    }
    TensorProto { name: name.to_string(), dims: t.dims.clone(), data_type: FLOAT, raw_data, ..Default::default() }
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
    use super::{f16_to_f32, fold_f16_casts, FLOAT, FLOAT16};
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
        assert_eq!(fold_f16_casts(&mut model), 2);
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
