//! What differs between the two targets: start-up, faults, the instruction counter and the
//! stack bounds.
//!
//! * RV32: `minstret`, the retired-instruction counter. Under QEMU with `-icount shift=0` it
//!   is deterministic.
//! * Cortex-M4: QEMU does not model the DWT cycle counter (its registers read as zero; the
//!   run reports `dwt_cyccnt` to show it), so the count comes from CMSDK APB timer 0 of the
//!   MPS2 board, clocked at 25 MHz. With `-icount shift=0` each instruction takes 1 ns of
//!   virtual time, so one timer tick is 40 instructions.

#[cfg(target_arch = "arm")]
mod imp {
    use core::ptr::{read_volatile, write_volatile};

    pub const TARGET_NUL: &[u8] = b"cortex-m4 \0";
    /// Instructions per counter tick under `-icount shift=0` (1 ns per instruction, 25 MHz).
    pub const INSTRUCTIONS_PER_TICK: u64 = 40;

    const TIMER0: usize = 0x4000_0000;
    const DEMCR: usize = 0xE000_EDFC;
    const DWT_CTRL: usize = 0xE000_1000;
    const DWT_CYCCNT: usize = 0xE000_1004;

    /// Start the counters.
    pub fn start_counter() {
        // SAFETY: device registers of the MPS2 board and the Cortex-M4 debug block.
        unsafe {
            write_volatile((TIMER0 + 8) as *mut u32, u32::MAX); // RELOAD
            write_volatile((TIMER0 + 4) as *mut u32, u32::MAX); // VALUE
            write_volatile(TIMER0 as *mut u32, 1); // CTRL: enable
            write_volatile(DEMCR as *mut u32, read_volatile(DEMCR as *const u32) | 1 << 24);
            write_volatile(DWT_CTRL as *mut u32, read_volatile(DWT_CTRL as *const u32) | 1);
        }
    }

    /// Ticks since [`start_counter`].
    #[inline(always)]
    pub fn counter() -> u64 {
        // SAFETY: a read of the timer's VALUE register.
        (u32::MAX - unsafe { read_volatile((TIMER0 + 4) as *const u32) }) as u64
    }

    /// The DWT cycle counter (zero under QEMU).
    pub fn dwt_cycles() -> Option<u64> {
        // SAFETY: a read of a debug register.
        Some(unsafe { read_volatile(DWT_CYCCNT as *const u32) } as u64)
    }

    extern "C" {
        static mut __ebss: u8;
        static mut _stack_start: u8;
    }

    /// RAM between the statics and the top of the stack.
    pub fn stack_region() -> (*mut u8, *mut u8) {
        (core::ptr::addr_of_mut!(__ebss), core::ptr::addr_of_mut!(_stack_start))
    }

    #[cortex_m_rt::entry]
    fn main() -> ! {
        crate::main()
    }

    #[cortex_m_rt::exception]
    unsafe fn HardFault(_: &cortex_m_rt::ExceptionFrame) -> ! {
        crate::fault()
    }
}

#[cfg(target_arch = "riscv32")]
mod imp {
    pub const TARGET_NUL: &[u8] = b"rv32 \0";
    pub const INSTRUCTIONS_PER_TICK: u64 = 1;

    pub fn start_counter() {}

    /// Retired instructions (`minstret`/`minstreth`).
    #[inline(always)]
    pub fn counter() -> u64 {
        loop {
            let (hi, lo, hi2): (u32, u32, u32);
            // SAFETY: reads of machine-mode counters, which run in M mode.
            unsafe {
                core::arch::asm!(
                    "csrr {0}, minstreth", "csrr {1}, minstret", "csrr {2}, minstreth",
                    out(reg) hi, out(reg) lo, out(reg) hi2, options(nomem, nostack)
                )
            };
            if hi == hi2 {
                return (hi as u64) << 32 | lo as u64;
            }
        }
    }

    pub fn dwt_cycles() -> Option<u64> {
        None
    }

    extern "C" {
        static mut _ebss: u8;
        static mut _stack_start: u8;
    }

    pub fn stack_region() -> (*mut u8, *mut u8) {
        (core::ptr::addr_of_mut!(_ebss), core::ptr::addr_of_mut!(_stack_start))
    }

    #[riscv_rt::entry]
    fn main() -> ! {
        crate::main()
    }

    #[export_name = "ExceptionHandler"]
    fn exception(_: &riscv_rt::TrapFrame) -> ! {
        crate::fault()
    }
}

pub use imp::*;

const PAINT: u8 = 0xA5;

/// Fill the unused stack below the current frame with a pattern (see [`stack_used`]).
#[inline(never)]
pub fn paint_stack() {
    let (low, _) = stack_region();
    let here = 0u8;
    let sp = core::ptr::addr_of!(here) as usize;
    let mut p = low as usize;
    // Stay 256 bytes clear of this frame.
    while p + 256 < sp {
        // SAFETY: RAM between the statics and the live stack, not in use.
        unsafe { core::ptr::write_volatile(p as *mut u8, PAINT) };
        p += 1;
    }
}

/// Bytes between the statics and the stack top.
pub fn stack_capacity() -> usize {
    let (low, high) = stack_region();
    high as usize - low as usize
}

/// Bytes of stack ever used: from the top down to the lowest byte no longer painted.
pub fn stack_used() -> usize {
    let (low, high) = stack_region();
    let mut p = low as usize;
    // SAFETY: reads of RAM between the statics and the stack top.
    while p < high as usize && unsafe { core::ptr::read_volatile(p as *const u8) } == PAINT {
        p += 1;
    }
    high as usize - p
}
