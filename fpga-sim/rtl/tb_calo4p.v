// Verilog testbench of the calo4p sampling accelerator for event-driven simulators (Icarus,
// Questa, Vivado's xsim; Verilator with --timing). Runs SWEEPS sweeps (+sweeps=K overrides)
// and prints, per sweep, `S k`, `C cycles` (the RTL's counter) and `Z unit chains` per unit,
// as the Verilator testbench does. Defining CALO4P_TRACE adds the lanes' update lines.
`timescale 1ns / 1ps
`include "calo4p_params.vh"
module tb_calo4p;
    reg clk = 1'b0;
    reg start = 1'b0;
    reg [`CALO4P_UB-1:0] rd_addr = 0;
    wire done, running;
    wire [63:0] cycles;
    wire [`CALO4P_C-1:0] rd_data;
    integer sweeps, k, u;
    calo4p_top dut (
        .clk(clk), .start(start), .done(done), .running(running), .cycles(cycles),
        .rd_addr(rd_addr), .rd_data(rd_data)
    );
    always #5 clk = ~clk;
    initial begin
        if (!$value$plusargs("sweeps=%d", sweeps)) sweeps = 1;
        for (k = 0; k < sweeps; k = k + 1) begin
            $display("S %0d", k);
            @(negedge clk) start = 1'b1;
            @(negedge clk) start = 1'b0;
            while (!done) @(negedge clk);
            $display("C %0d", cycles);
            for (u = 0; u < `CALO4P_N; u = u + 1) begin
                rd_addr = u;
                #1 $display("Z %0d %0h", u, rd_data);
            end
            @(negedge clk);
        end
        $finish;
    end
endmodule
