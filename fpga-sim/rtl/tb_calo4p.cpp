// Verilator testbench of the calo4p sampling accelerator (generated top `calo4p_top`).
//
//   Vcalo4p_top +sweeps=K
//
// Prints, for each sweep k: `S k`, the lanes' update lines `U lane unit chain draw bit field`
// (when built with -DCALO4P_TRACE), `C cycles` (the RTL's own cycle counter) and one line
// `Z unit chains` per unit (its state, one bit per chain, hex). Exit status 0, or 1 when a
// sweep does not finish within its cycle budget.
#include "Vcalo4p_top.h"
#include "verilated.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    VerilatedContext ctx;
    ctx.commandArgs(argc, argv);
    Vcalo4p_top top{&ctx};
    long sweeps = 1;
    const char* arg = ctx.commandArgsPlusMatch("sweeps=");
    if (arg && std::strlen(arg) > 8) sweeps = std::atol(arg + 8);
    const unsigned long long budget = 1ull << 40;
    auto tick = [&] {
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
    };
    top.clk = 0;
    top.start = 0;
    top.rd_addr = 0;
    top.eval();
    for (long k = 0; k < sweeps; ++k) {
        std::printf("S %ld\n", k);
        top.start = 1;
        tick();
        top.start = 0;
        unsigned long long guard = 0;
        while (!top.done) {
            tick();
            if (++guard > budget) {
                std::fprintf(stderr, "sweep %ld did not finish within %llu cycles\n", k, budget);
                return 1;
            }
        }
        std::printf("C %llu\n", (unsigned long long)top.cycles);
        for (unsigned long u = 0; u < CALO4P_UNITS; ++u) {
            top.rd_addr = u;
            top.eval();
            std::printf("Z %lu %llx\n", u, (unsigned long long)top.rd_data);
        }
        tick();
    }
    top.final();
    return 0;
}
