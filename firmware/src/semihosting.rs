//! ARM and RISC-V semihosting: the few calls the firmware needs, without `core::fmt`.
//!
//! A semihosting call is an operation number and a pointer to its argument block, trapped
//! by the debugger or QEMU (`-semihosting-config enable=on`): `bkpt 0xab` on Cortex-M, the
//! `slli/ebreak/srai` triple on RISC-V. Files open relative to QEMU's working directory.

const SYS_OPEN: usize = 0x01;
const SYS_WRITE: usize = 0x05;
const SYS_WRITE0: usize = 0x04;
const SYS_EXIT_EXTENDED: usize = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;
/// `fopen` mode "wb".
const MODE_WB: usize = 5;

#[cfg(target_arch = "arm")]
#[inline(never)]
fn call(op: usize, arg: *const usize) -> isize {
    let ret: isize;
    // SAFETY: the host reads (and for SYS_OPEN, writes nothing to) the argument block,
    // which lives across the call.
    unsafe { core::arch::asm!("bkpt #0xab", inout("r0") op => ret, in("r1") arg, options(nostack)) };
    ret
}

#[cfg(target_arch = "riscv32")]
#[inline(never)]
fn call(op: usize, arg: *const usize) -> isize {
    let ret: isize;
    // The three instructions must be uncompressed and within one page: that is how the
    // host tells a semihosting ebreak from a breakpoint.
    // SAFETY: as on ARM; the sequence only traps to the host.
    unsafe {
        core::arch::asm!(
            ".balign 16",
            ".option push",
            ".option norvc",
            "slli x0, x0, 0x1f",
            "ebreak",
            "srai x0, x0, 7",
            ".option pop",
            inout("a0") op => ret,
            in("a1") arg,
            options(nostack),
        )
    };
    ret
}

/// Write a NUL-terminated string to the host console.
pub fn write0(s: &[u8]) {
    debug_assert_eq!(s.last(), Some(&0));
    call(SYS_WRITE0, s.as_ptr() as *const usize);
}

/// A host file opened for binary writing, or `None`.
pub fn create(name: &[u8]) -> Option<usize> {
    // SYS_OPEN wants the name NUL-terminated and its length without the NUL.
    let args = [name.as_ptr() as usize, MODE_WB, name.len() - 1];
    let fd = call(SYS_OPEN, args.as_ptr());
    (fd >= 0).then_some(fd as usize)
}

/// Write all of `bytes` to `fd`; false if the host wrote less.
pub fn write(fd: usize, bytes: &[u8]) -> bool {
    let args = [fd, bytes.as_ptr() as usize, bytes.len()];
    call(SYS_WRITE, args.as_ptr()) == 0
}

/// End the run; QEMU exits with `code`.
pub fn exit(code: u32) -> ! {
    let args = [ADP_STOPPED_APPLICATION_EXIT, code as usize];
    call(SYS_EXIT_EXTENDED, args.as_ptr());
    #[allow(clippy::empty_loop)]
    loop {}
}
