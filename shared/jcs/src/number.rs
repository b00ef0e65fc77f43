//! ECMAScript `Number.prototype.toString()` for doubles (ECMA-262 §6.1.6.1.20, referenced by
//! RFC 8785 §3.2.2.3): the shortest decimal digits that round-trip, laid out as plain digits for
//! exponents in [-6, 21) and as `d.ddde±n` otherwise. Every JCS implementation must agree on
//! this to the byte, which is why it is spelled out here rather than left to `Display`.

use crate::JcsError;

/// Format a finite double exactly as ECMAScript's `String(x)` would.
///
/// `-0` prints as `0`; `NaN` and the infinities are errors because JSON cannot carry them.
pub fn number_to_string(value: f64) -> Result<String, JcsError> {
    if !value.is_finite() {
        return Err(JcsError::NonFiniteNumber(value));
    }
    if value == 0.0 {
        return Ok("0".to_owned());
    }
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    let (digits, n) = shortest_digits(value.abs());
    layout(&mut out, &digits, n);
    Ok(out)
}

/// The shortest round-trip digits `s` (no leading or trailing zeros) and the exponent `n` such
/// that `value = 0.s × 10^n`, i.e. ECMA-262's `s`, `k = s.len()` and `n`.
///
/// ECMA-262 breaks ties between two equally short, equally close digit strings towards the even
/// one. Ryū does the same; Rust's own `{:e}` does not (it prints 1394865425023536.3 where V8
/// prints 1394865425023536.2), so the digits come from `ryu` and only the layout is ours.
fn shortest_digits(value: f64) -> (String, i32) {
    let mut buffer = ryu::Buffer::new();
    let printed = buffer.format_finite(value);
    let (mantissa, exponent) = match printed.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu exponent is an integer")),
        None => (printed, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut n = int.len() as i32 + exponent;
    let mut digits = String::with_capacity(int.len() + frac.len());
    digits.push_str(int);
    digits.push_str(frac);
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    n -= leading as i32;
    while digits.ends_with('0') {
        digits.pop();
    }
    (digits, n)
}

fn layout(out: &mut String, digits: &str, n: i32) {
    let k = digits.len() as i32;
    if k <= n && n <= 21 {
        // Integer with trailing zeros: 1e20 → 100000000000000000000.
        out.push_str(digits);
        push_zeros(out, n - k);
    } else if 0 < n && n <= 21 {
        // Decimal point inside the digits: 4.5, 333333333.3333333.
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        // Small magnitude, still plain: 0.000001.
        out.push_str("0.");
        push_zeros(out, -n);
        out.push_str(digits);
    } else {
        // Exponential: 1e+21, 1.5e-7.
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        let e = n - 1;
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&e.unsigned_abs().to_string());
    }
}

fn push_zeros(out: &mut String, count: i32) {
    for _ in 0..count {
        out.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::number_to_string;
    use crate::JcsError;

    fn es6(x: f64) -> String {
        number_to_string(x).unwrap()
    }

    #[test]
    fn zero_and_negative_zero_are_zero() {
        assert_eq!(es6(0.0), "0");
        assert_eq!(es6(-0.0), "0");
    }

    #[test]
    fn integers_print_plainly_below_1e21() {
        assert_eq!(es6(1.0), "1");
        assert_eq!(es6(-56.0), "-56");
        assert_eq!(es6(1e20), "100000000000000000000");
        assert_eq!(es6(123456789012345680000.0), "123456789012345680000");
        assert_eq!(es6(9007199254740992.0), "9007199254740992");
    }

    #[test]
    fn exponent_form_from_1e21() {
        assert_eq!(es6(1e21), "1e+21");
        assert_eq!(es6(1.5e21), "1.5e+21");
        assert_eq!(es6(1e30), "1e+30");
        assert_eq!(es6(-1e21), "-1e+21");
    }

    #[test]
    fn small_numbers_switch_to_exponent_below_1e_minus_6() {
        assert_eq!(es6(0.000001), "0.000001");
        assert_eq!(es6(1e-7), "1e-7");
        assert_eq!(es6(1.25e-7), "1.25e-7");
        assert_eq!(es6(0.002), "0.002");
        assert_eq!(es6(1e-27), "1e-27");
    }

    #[test]
    fn fractions_use_shortest_round_trip_digits() {
        assert_eq!(es6(4.5), "4.5");
        assert_eq!(es6(0.1), "0.1");
        assert_eq!(es6(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(es6(333333333.3333333), "333333333.3333333");
    }

    #[test]
    fn ties_between_shortest_candidates_go_to_the_even_digit() {
        // Exactly 1394865425023536.25: .2 and .3 both round-trip and are equally close;
        // ECMA-262 (and V8) pick the even one.
        assert_eq!(
            es6(f64::from_bits(0x4313_d27d_a8ac_08c1)),
            "1394865425023536.2"
        );
    }

    #[test]
    fn extremes() {
        assert_eq!(es6(5e-324), "5e-324");
        assert_eq!(es6(-5e-324), "-5e-324");
        assert_eq!(es6(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(es6(f64::MIN_POSITIVE), "2.2250738585072014e-308");
    }

    #[test]
    fn rfc8785_readme_samples() {
        // IEEE 754 bit patterns and expected strings from the JCS reference test data README.
        let samples = [
            (0x4340000000000001_u64, "9007199254740994"),
            (0x4340000000000002, "9007199254740996"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x8000000000000000, "0"),
            (0x0, "0"),
        ];
        for (bits, expected) in samples {
            assert_eq!(es6(f64::from_bits(bits)), expected, "bits {bits:016x}");
        }
    }

    #[test]
    fn non_finite_is_an_error() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                number_to_string(x),
                Err(JcsError::NonFiniteNumber(_))
            ));
        }
    }
}
