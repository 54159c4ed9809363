// xoshiro128++ (Blackman & Vigna), one step: the 32-bit output of `s` and the next state.
// State word order: s = {s3, s2, s1, s0}, s0 in the low bits (core's `Xoshiro128PlusPlus`).
module calo4p_xoshiro128pp (
    input  wire [127:0] s,
    output wire [31:0]  out,
    output wire [127:0] next
);
    wire [31:0] s0 = s[31:0];
    wire [31:0] s1 = s[63:32];
    wire [31:0] s2 = s[95:64];
    wire [31:0] s3 = s[127:96];
    wire [31:0] sum = s0 + s3;
    assign out = {sum[24:0], sum[31:25]} + s0;
    wire [31:0] t  = {s1[22:0], 9'b0};
    wire [31:0] n2 = s2 ^ s0;
    wire [31:0] n3 = s3 ^ s1;
    wire [31:0] n1 = s1 ^ n2;
    wire [31:0] n0 = s0 ^ n3;
    wire [31:0] m2 = n2 ^ t;
    wire [31:0] m3 = {n3[20:0], n3[31:21]};
    assign next = {m3, m2, n1, n0};
endmodule
