// A D-cycle delay line (D = 0: a wire). Pipeline latencies of the hardware JSON become these.
module calo4p_delay #(
    parameter W = 1,
    parameter D = 0
) (
    input  wire         clk,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
    generate
        if (D == 0) begin : g_wire
            assign q = d;
        end else begin : g_regs
            reg [W*D-1:0] r = {(W*D){1'b0}};
            if (D == 1) begin : g_one
                always @(posedge clk) r <= d;
            end else begin : g_many
                always @(posedge clk) r <= {r[W*(D-1)-1:0], d};
            end
            assign q = r[W*D-1 -: W];
        end
    endgenerate
endmodule
