//! The few statistics the interleaved A/B runners in `examples/` print.

/// `v` in ascending order (`total_cmp`: NaNs last).
pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The median of `v` (the upper one of an even count); panics on an empty slice.
pub fn median(v: &[f64]) -> f64 {
    sorted(v.to_vec())[v.len() / 2]
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(super::median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&[4.0, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(super::sorted(vec![2.0, 1.0])[0], 1.0);
    }
}
