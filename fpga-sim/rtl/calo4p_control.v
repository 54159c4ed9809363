// Colour-phase controller and cycle counter of the calo4p sampling accelerator.
//
// A sweep visits the P colour phases in order. A phase with jobs issues until every lane
// has issued its last word, drains the pipeline for DEPTH cycles, then waits BARRIER cycles
// at the barrier; a phase without jobs costs only its barrier (skipped when BARRIER = 0).
// `cycles` counts exactly these cycles, so it equals fpga-sim's
// Σ_p (max_lane issue cycles + DEPTH [phase has jobs] + BARRIER).
module calo4p_control #(
    parameter P = 4,
    parameter PB = 2,
    parameter DEPTH = 0,
    parameter BARRIER = 0,
    parameter [P-1:0] HAS_JOBS = {P{1'b1}}
) (
    input  wire          clk,
    input  wire          start,       // begin a sweep (ignored while one runs)
    input  wire          all_last,    // every lane is idle or issues its last word now
    output reg           done = 1'b0, // one-cycle pulse: the sweep's last state is written
    output reg  [63:0]   cycles = 64'd0,
    output wire          running,
    output wire          issue_en,
    output wire          load,
    output wire [PB-1:0] load_phase,
    output wire          sweep_start
);
    localparam IDLE = 2'd0, ISSUE = 2'd1, DRAIN = 2'd2, BARR = 2'd3;
    localparam [P-1:0] COSTS = BARRIER > 0 ? {P{1'b1}} : HAS_JOBS;
    reg [1:0]  st = IDLE;
    reg [PB:0] ph = 0;
    reg [31:0] cnt = 0;

    // Leaving the current phase (or IDLE on start) this cycle, and where to.
    wire leave_issue = st == ISSUE && all_last && DEPTH == 0 && BARRIER == 0;
    wire leave_drain = st == DRAIN && cnt == 1 && BARRIER == 0;
    wire leave_barr  = st == BARR && cnt == 1;
    wire begin_sweep = st == IDLE && start;
    wire advance     = begin_sweep || leave_issue || leave_drain || leave_barr;
    wire [PB:0] from = begin_sweep ? {(PB+1){1'b0}} : ph + 1'b1;
    reg  [PB:0] tgt;
    integer q;
    always @* begin
        tgt = P;
        for (q = P - 1; q >= 0; q = q - 1)
            if (q >= from && COSTS[q]) tgt = q;
    end
    wire finish = advance && tgt == P;
    assign load        = advance && !finish && HAS_JOBS[tgt[PB-1:0]];
    assign load_phase  = tgt[PB-1:0];
    assign sweep_start = begin_sweep;
    assign issue_en    = st == ISSUE;
    assign running     = st != IDLE;

    always @(posedge clk) begin
        done <= finish;
        if (begin_sweep) cycles <= 0;
        else if (st != IDLE) cycles <= cycles + 1'b1;
        if (advance) begin
            if (finish) begin
                st <= IDLE;
            end else begin
                ph  <= tgt;
                st  <= HAS_JOBS[tgt[PB-1:0]] ? ISSUE : BARR;
                cnt <= BARRIER;
            end
        end else begin
            case (st)
                ISSUE: if (all_last) begin
                    st  <= DEPTH > 0 ? DRAIN : BARR;
                    cnt <= DEPTH > 0 ? DEPTH : BARRIER;
                end
                DRAIN: if (cnt == 1) begin
                    st  <= BARR;
                    cnt <= BARRIER;
                end else begin
                    cnt <= cnt - 1;
                end
                BARR: cnt <= cnt - 1;
                default: ;
            endcase
        end
    end
endmodule
