// Pin-limited wrapper of the generated top level for synthesis and place-and-route: the state
// is read one bit at a time (unit `rd_addr`, chain `rd_chain`) and the cycle counter one byte
// at a time, so that small packages (iCE40UP5K SG48: 39 user I/O) hold the design.
`include "calo4p_params.vh"
module calo4p_fpga (
    input  wire                   clk,
    input  wire                   start,
    output wire                   done,
    output wire                   running,
    input  wire [`CALO4P_UB-1:0]  rd_addr,
    input  wire [`CALO4P_CB-1:0]  rd_chain,
    output wire                   rd_bit,
    input  wire [2:0]             cyc_sel,
    output wire [7:0]             cyc_byte
);
    wire [63:0] cycles;
    wire [`CALO4P_C-1:0] rd_data;
    calo4p_top core (
        .clk(clk), .start(start), .done(done), .running(running), .cycles(cycles),
        .rd_addr(rd_addr), .rd_data(rd_data)
    );
    assign rd_bit = rd_data[rd_chain];
    assign cyc_byte = cycles[cyc_sel * 8 +: 8];
endmodule
