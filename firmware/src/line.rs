//! `key=value` reports on the semihosting console without `core::fmt` (which costs
//! kilobytes of flash). Numbers are hexadecimal: no 64-bit division on a 32-bit core.

/// Print `key=0x<value> ` (no newline).
pub fn kv(key: &str, value: u64) {
    let mut buf = [0u8; 48];
    let key = key.as_bytes();
    let n = key.len().min(buf.len() - 21);
    buf[..n].copy_from_slice(&key[..n]);
    buf[n] = b'=';
    buf[n + 1] = b'0';
    buf[n + 2] = b'x';
    let mut at = n + 3;
    let digits = (16 - value.leading_zeros() as usize / 4).max(1);
    for d in (0..digits).rev() {
        let nibble = (value >> (4 * d)) as u8 & 0xf;
        buf[at] = if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
        at += 1;
    }
    buf[at] = b' ';
    crate::semihosting::write0(&buf[..at + 2]);
}
