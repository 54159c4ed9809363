// One update lane of the calo4p sampling accelerator (fpga-sim's `Accelerator`, bit for bit).
//
// For each job of the current colour phase (a unit dealt to this lane; jobs are stored in
// phase order) and each chain in turn, the lane issues the unit's adjacency words, one per
// cycle, A (weight, neighbour) slots per word. Each slot's weight is gated by the
// neighbour's state bit, an adder tree sums the slots, and an accumulator that starts at
// the bias adds the partial sums. On the job's last word the exact field is saturated to the
// field register [FMIN, FMAX], its magnitude indexes the acceptance table, and the entry is
// compared with the top R bits of the chain's next xoshiro128++ draw (heat bath, or
// Metropolis from the unit's current state). The result is written back to the state array.
//
// Pipeline: LAT_WF cycles of weight fetch (>= 1: a synchronous, block-RAM-style read), LAT_AT
// after the adder tree, LAT_TL of table lookup (>= 1: synchronous read), LAT_CW of compare and
// write-back; a result is written LAT_WF + LAT_AT + LAT_TL + LAT_CW cycles after its last
// issue (0: in the issue cycle itself). The controller drains the pipeline at every barrier.
//
// Memory images ($readmemh):
//   JOB_FILE  NJ words  {wbase[WDB], nw[NWB], bias[WB], unit[UB]}
//   ADJ_FILE  NWD words A slots of {valid, weight[WB], neighbour[UB]}, slot 0 lowest
//   CNT_FILE  P words   jobs of this lane in each phase [JB+1]
//   RNG_FILE  C words   xoshiro128++ state of each chain {s3, s2, s1, s0}
//   DRW_FILE  C words   each chain's next draw (the output of that state)
//   TBL_FILE  TLEN words of R bits (shared contents, one copy per lane)
module calo4p_lane #(
    parameter LANE = 0,
    parameter N = 1, parameter C = 1, parameter CB = 1, parameter UB = 1,
    parameter WB = 16, parameter AB = 24, parameter A = 1,
    parameter P = 4, parameter PB = 2,
    parameter NJ = 1, parameter JB = 1, parameter NWD = 1, parameter WDB = 1, parameter NWB = 1,
    parameter signed [AB-1:0] FMIN = 0, parameter signed [AB-1:0] FMAX = 0,
    parameter R = 16, parameter SHIFT = 0, parameter TLEN = 1, parameter TB = 1,
    parameter RULE = 0,
    parameter LAT_WF = 0, parameter LAT_AT = 0, parameter LAT_TL = 0, parameter LAT_CW = 0,
    parameter JOB_FILE = "", parameter ADJ_FILE = "", parameter CNT_FILE = "",
    parameter RNG_FILE = "", parameter DRW_FILE = "", parameter TBL_FILE = ""
) (
    input  wire          clk,
    input  wire          load,        // the next cycle starts issuing phase `load_phase`
    input  wire [PB-1:0] load_phase,
    input  wire          sweep_start, // rewind to the first job (with the load of a sweep)
    input  wire          issue_en,    // the controller is in an issue phase
    input  wire [N*C-1:0] state,
    output wire          busy,        // jobs left in this phase
    output wire          last,        // this cycle issues the phase's final word
    output wire          we,
    output wire [UB-1:0] waddr,
    output wire [CB-1:0] wchain,
    output wire          wbit
);
    localparam JW = WDB + NWB + WB + UB;
    localparam SW = 1 + WB + UB;
    localparam HALF = (1 << SHIFT) >> 1;

    reg [JW-1:0]   jrom [0:NJ-1];
    reg [JB:0]     crom [0:P-1];
    reg [127:0]    rng  [0:C-1];
    reg [31:0]     drw  [0:C-1];
    initial begin
        $readmemh(JOB_FILE, jrom);
        $readmemh(CNT_FILE, crom);
        $readmemh(RNG_FILE, rng);
        $readmemh(DRW_FILE, drw);
    end

    // ---- issue ---------------------------------------------------------------------------
    reg [JB-1:0]  jp  = 0;
    reg [JB:0]    rem = 0;
    reg [CB-1:0]  ch  = 0;
    reg [NWB-1:0] wd  = 0;
    wire [JW-1:0]  job   = jrom[jp];
    wire [UB-1:0]  unit  = job[UB-1:0];
    wire [WB-1:0]  bias  = job[UB +: WB];
    wire [NWB-1:0] nw    = job[UB + WB +: NWB];
    wire [WDB-1:0] wbase = job[UB + WB + NWB +: WDB];
    wire issue   = issue_en && rem != 0;
    wire lastw   = wd == nw - 1'b1;
    wire lastc   = ch == C - 1;
    assign busy  = rem != 0;
    assign last  = issue && lastw && lastc && rem == 1;
    // In a design without pipeline or barrier the next phase loads in the cycle of this
    // phase's last issue, so the job pointer advances independently of `load`.
    always @(posedge clk) begin
        if (sweep_start) jp <= 0;
        else if (issue && lastw && lastc) jp <= jp + 1'b1;
        if (load) begin
            rem <= crom[load_phase];
            ch  <= 0;
            wd  <= 0;
        end else if (issue) begin
            if (!lastw) begin
                wd <= wd + 1'b1;
            end else begin
                wd <= 0;
                if (!lastc) begin
                    ch <= ch + 1'b1;
                end else begin
                    ch  <= 0;
                    rem <= rem - 1'b1;
                end
            end
        end
    end
    wire [WDB-1:0] waddr0 = wbase + wd;
    // meta: {valid, first, last, chain, unit, bias}
    localparam MW = 3 + CB + UB + WB;
    wire [MW-1:0] meta0 = {issue, wd == 0, lastw, ch, unit, bias};

    // ---- weight fetch ----------------------------------------------------------------------
    wire [A*SW-1:0] word1;
    wire [MW-1:0]   meta1;
    calo4p_rom #(.W(A*SW), .DEPTH(NWD), .AW(WDB), .MW(MW), .LAT(LAT_WF), .FILE(ADJ_FILE)) adj (
        .clk(clk), .addr(waddr0), .tag_in(meta0), .data(word1), .tag(meta1));

    // ---- gate by neighbour state, adder tree, accumulate --------------------------------------
    wire [CB-1:0] ch1 = meta1[WB + UB +: CB];
    // A balanced binary adder tree over the A gated terms, stored as a heap: leaves at
    // A2-1 .. 2*A2-2 (A2 the next power of two, missing leaves zero), node i = 2i+1 + 2i+2.
    localparam A2 = A <= 1 ? 1 : (1 << $clog2(A));
    wire signed [AB-1:0] tree [0:2*A2-2] /* verilator split_var */;
    genvar gs;
    generate
        for (gs = 0; gs < A2; gs = gs + 1) begin : g_leaf
            if (gs < A) begin : g_term
                wire on = word1[gs*SW + SW - 1] && state[word1[gs*SW +: UB] * C + ch1];
                wire signed [AB-1:0] w = {{(AB-WB){word1[gs*SW + UB + WB - 1]}}, word1[gs*SW + UB +: WB]};
                assign tree[A2 - 1 + gs] = on ? w : {AB{1'b0}};
            end else begin : g_pad
                assign tree[A2 - 1 + gs] = {AB{1'b0}};
            end
        end
        for (gs = 0; gs < A2 - 1; gs = gs + 1) begin : g_node
            assign tree[gs] = tree[2*gs + 1] + tree[2*gs + 2];
        end
    endgenerate
    wire signed [AB-1:0] psum = tree[0];
    // The accumulator starts at the bias on a job's first word. With LAT_AT >= 1 it is the
    // stage's register (the field leaves the adder stage registered, which shortens the path
    // into the table lookup); with LAT_AT = 0 the field is combinational.
    wire first1 = meta1[MW-2];
    wire [WB-1:0] bias1 = meta1[WB-1:0];
    reg signed [AB-1:0] acc = 0;
    wire signed [AB-1:0] base1 = first1 ? {{(AB-WB){bias1[WB-1]}}, bias1} : acc;
    wire signed [AB-1:0] sum1 = base1 + psum;
    always @(posedge clk) if (meta1[MW-1]) acc <= sum1;
    wire signed [AB-1:0] field;
    wire [MW-1:0] meta2;
    generate
        if (LAT_AT == 0) begin : g_at_comb
            assign field = sum1;
            assign meta2 = meta1;
        end else begin : g_at_reg
            reg [MW-1:0] meta_r = 0;
            always @(posedge clk) meta_r <= meta1;
            calo4p_delay #(.W(AB), .D(LAT_AT - 1)) d_sum (.clk(clk), .d(acc), .q(field));
            calo4p_delay #(.W(MW), .D(LAT_AT - 1)) d_meta2 (.clk(clk), .d(meta_r), .q(meta2));
        end
    endgenerate

    // ---- saturate, index -------------------------------------------------------------------
    wire v2 = meta2[MW-1];
    wire last2 = meta2[MW-3];
    // The table index of the saturated field h = clamp(field, FMIN, FMAX) is
    // min((|h| + HALF) >> SHIFT, TLEN - 1). As (x + HALF) >> SHIFT is monotone and
    // |h| = min(|field|, FMAX or -FMIN), it equals min((|field| + HALF) >> SHIFT, CAP) with a
    // constant CAP per sign: one adder (|field| + HALF as ~field + HALF + 1 when negative) and
    // one comparison instead of a clamp, a negation, an adder and a comparison in series.
    localparam integer TOP = TLEN - 1;
    localparam integer CAP_P = ((FMAX + HALF) >> SHIFT) < TOP ? ((FMAX + HALF) >> SHIFT) : TOP;
    localparam integer CAP_N = ((HALF - FMIN) >> SHIFT) < TOP ? ((HALF - FMIN) >> SHIFT) : TOP;
    wire neg2 = field[AB-1];
    wire [AB:0] magh = neg2 ? {1'b0, ~field} + HALF + 1 : {1'b0, field} + HALF;
    wire [AB:0] k = magh >> SHIFT;
    wire [TB-1:0] idx = neg2 ? (k > CAP_N ? CAP_N : k[TB-1:0]) : (k > CAP_P ? CAP_P : k[TB-1:0]);
    // The saturated field itself is only traced.
    wire signed [AB-1:0] h = field > FMAX ? FMAX : (field < FMIN ? FMIN : field);
    // decision meta: {valid, h<0, h>0, chain, unit, h}
    localparam DW = 3 + CB + UB + AB;
    wire [DW-1:0] dmeta2 = {v2 && last2, neg2, !neg2 && field != 0, meta2[WB + UB +: CB], meta2[WB +: UB], h};

    // ---- table lookup ----------------------------------------------------------------------
    wire [R-1:0]  p3;
    wire [DW-1:0] dmeta3;
    calo4p_rom #(.W(R), .DEPTH(TLEN), .AW(TB), .MW(DW), .LAT(LAT_TL), .FILE(TBL_FILE)) table_rom (
        .clk(clk), .addr(idx), .tag_in(dmeta2), .data(p3), .tag(dmeta3));

    // ---- draw and compare ------------------------------------------------------------------
    wire v3 = dmeta3[DW-1];
    wire neg3 = dmeta3[DW-2];
    wire pos3 = dmeta3[DW-3];
    wire [CB-1:0] ch3 = dmeta3[AB + UB +: CB];
    wire [UB-1:0] unit3 = dmeta3[AB +: UB];
    // Each chain's next draw waits in a register (out of the generator state that follows it),
    // so the generator's adders run beside the decision rather than before it.
    wire [31:0] draw = drw[ch3];
    wire [127:0] rng_next;
    wire [31:0] draw_next;
    wire [31:0] draw_again;   // equals `draw`
    wire [127:0] rng_after;   // two steps on: not needed
    calo4p_xoshiro128pp gen (.s(rng[ch3]), .out(draw_again), .next(rng_next));
    calo4p_xoshiro128pp gen_next (.s(rng_next), .out(draw_next), .next(rng_after));
    always @(posedge clk)
        if (v3) begin
            rng[ch3] <= rng_next;
            drw[ch3] <= draw_next;
        end
    // u < p and u < 2^R - p (as u + p < 2^R) side by side; the rule and signs choose.
    wire [R-1:0] u = draw[31 -: R];
    wire old3 = state[unit3 * C + ch3];
    wire [R:0] up = {1'b0, u} + {1'b0, p3};
    wire below_p = u < p3;
    wire below_rest = !up[R];
    wire bit3 = RULE == 0 ? (neg3 ? below_rest : below_p)
              : (!old3 ? (neg3 ? below_p : 1'b1) : (pos3 ? below_rest : 1'b0));
`ifdef CALO4P_TRACE
    always @(posedge clk)
        if (v3) $display("U %0d %0d %0d %08x %0d %0d", LANE, unit3, ch3, draw, bit3, $signed(dmeta3[AB-1:0]));
`endif

    // ---- write-back ------------------------------------------------------------------------
    wire [1 + UB + CB:0] wout;
    calo4p_delay #(.W(2 + UB + CB), .D(LAT_CW)) d_w (.clk(clk), .d({v3, unit3, ch3, bit3}), .q(wout));
    assign we     = wout[1 + UB + CB];
    assign waddr  = wout[CB + 1 +: UB];
    assign wchain = wout[1 +: CB];
    assign wbit   = wout[0];
endmodule
