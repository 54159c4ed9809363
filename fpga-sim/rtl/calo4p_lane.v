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
    parameter RNG_FILE = "", parameter TBL_FILE = ""
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
    reg [A*SW-1:0] arom [0:NWD-1];
    reg [JB:0]     crom [0:P-1];
    reg [127:0]    rng  [0:C-1];
    reg [R-1:0]    trom [0:TLEN-1];
    initial begin
        $readmemh(JOB_FILE, jrom);
        $readmemh(ADJ_FILE, arom);
        $readmemh(CNT_FILE, crom);
        $readmemh(RNG_FILE, rng);
        $readmemh(TBL_FILE, trom);
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
    generate
        if (LAT_WF == 0) begin : g_wf_async
            assign word1 = arom[waddr0];
            assign meta1 = meta0;
        end else begin : g_wf_sync
            reg [A*SW-1:0] word_r = 0;
            reg [MW-1:0]   meta_r = 0;
            always @(posedge clk) begin
                word_r <= arom[waddr0];
                meta_r <= meta0;
            end
            calo4p_delay #(.W(A*SW), .D(LAT_WF - 1)) d_word (.clk(clk), .d(word_r), .q(word1));
            calo4p_delay #(.W(MW), .D(LAT_WF - 1)) d_meta (.clk(clk), .d(meta_r), .q(meta1));
        end
    endgenerate

    // ---- gate by neighbour state, adder tree --------------------------------------------------
    wire [CB-1:0] ch1 = meta1[WB + UB +: CB];
    reg signed [AB-1:0] psum;
    integer s;
    always @* begin
        psum = 0;
        for (s = 0; s < A; s = s + 1) begin
            if (word1[s*SW + SW - 1] && state[word1[s*SW +: UB] * C + ch1])
                psum = psum + {{(AB-WB){word1[s*SW + UB + WB - 1]}}, word1[s*SW + UB +: WB]};
        end
    end
    wire signed [AB-1:0] sum2;
    wire [MW-1:0] meta2;
    calo4p_delay #(.W(AB), .D(LAT_AT)) d_sum (.clk(clk), .d(psum), .q(sum2));
    calo4p_delay #(.W(MW), .D(LAT_AT)) d_meta2 (.clk(clk), .d(meta1), .q(meta2));

    // ---- accumulate, saturate, index --------------------------------------------------------
    wire v2 = meta2[MW-1];
    wire first2 = meta2[MW-2];
    wire last2 = meta2[MW-3];
    wire [WB-1:0] bias2 = meta2[WB-1:0];
    reg signed [AB-1:0] acc = 0;
    wire signed [AB-1:0] base  = first2 ? {{(AB-WB){bias2[WB-1]}}, bias2} : acc;
    wire signed [AB-1:0] field = base + sum2;
    always @(posedge clk) if (v2) acc <= field;
    wire signed [AB-1:0] h = field > FMAX ? FMAX : (field < FMIN ? FMIN : field);
    wire [AB-1:0] mag = h[AB-1] ? -h : h;
    wire [AB-1:0] k = (mag + HALF) >> SHIFT;
    wire [TB-1:0] idx = k > TLEN - 1 ? TLEN - 1 : k[TB-1:0];
    // decision meta: {valid, h<0, h>0, chain, unit, h}
    localparam DW = 3 + CB + UB + AB;
    wire [DW-1:0] dmeta2 = {v2 && last2, h[AB-1], !h[AB-1] && h != 0, meta2[WB + UB +: CB], meta2[WB +: UB], h};

    // ---- table lookup ----------------------------------------------------------------------
    wire [R-1:0]  p3;
    wire [DW-1:0] dmeta3;
    generate
        if (LAT_TL == 0) begin : g_tl_async
            assign p3 = trom[idx];
            assign dmeta3 = dmeta2;
        end else begin : g_tl_sync
            reg [R-1:0]  p_r = 0;
            reg [DW-1:0] m_r = 0;
            always @(posedge clk) begin
                p_r <= trom[idx];
                m_r <= dmeta2;
            end
            calo4p_delay #(.W(R), .D(LAT_TL - 1)) d_p (.clk(clk), .d(p_r), .q(p3));
            calo4p_delay #(.W(DW), .D(LAT_TL - 1)) d_m (.clk(clk), .d(m_r), .q(dmeta3));
        end
    endgenerate

    // ---- draw and compare ------------------------------------------------------------------
    wire v3 = dmeta3[DW-1];
    wire neg3 = dmeta3[DW-2];
    wire pos3 = dmeta3[DW-3];
    wire [CB-1:0] ch3 = dmeta3[AB + UB +: CB];
    wire [UB-1:0] unit3 = dmeta3[AB +: UB];
    wire [31:0] draw;
    wire [127:0] rng_next;
    calo4p_xoshiro128pp gen (.s(rng[ch3]), .out(draw), .next(rng_next));
    always @(posedge clk) if (v3) rng[ch3] <= rng_next;
    wire [R:0] one = 1 << R;
    wire old3 = state[unit3 * C + ch3];
    wire [R:0] thr = RULE == 0 ? (neg3 ? one - p3 : {1'b0, p3})
                   : (!old3 ? (neg3 ? {1'b0, p3} : one) : (pos3 ? one - p3 : {(R+1){1'b0}}));
    wire [R-1:0] u = draw[31 -: R];
    wire bit3 = {1'b0, u} < thr;
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
