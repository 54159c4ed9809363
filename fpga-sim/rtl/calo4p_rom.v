// A read-only memory from a $readmemh image, read LAT cycles after the address is given
// (LAT = 0: combinational, LUT ROM; LAT >= 1: a registered, block-RAM-style read followed by
// LAT - 1 delay stages), with a tag of MW bits that travels alongside.
module calo4p_rom #(
    parameter W = 1,
    parameter DEPTH = 1,
    parameter AW = 1,
    parameter MW = 1,
    parameter LAT = 0,
    parameter FILE = ""
) (
    input  wire          clk,
    input  wire [AW-1:0] addr,
    input  wire [MW-1:0] tag_in,
    output wire [W-1:0]  data,
    output wire [MW-1:0] tag
);
    reg [W-1:0] rom [0:DEPTH-1];
    initial $readmemh(FILE, rom);
    generate
        if (LAT == 0) begin : g_async
            assign data = rom[addr];
            assign tag = tag_in;
        end else begin : g_sync
            reg [W-1:0]  data_r = 0;
            reg [MW-1:0] tag_r = 0;
            always @(posedge clk) begin
                data_r <= rom[addr];
                tag_r  <= tag_in;
            end
            calo4p_delay #(.W(W), .D(LAT - 1)) d_data (.clk(clk), .d(data_r), .q(data));
            calo4p_delay #(.W(MW), .D(LAT - 1)) d_tag (.clk(clk), .d(tag_r), .q(tag));
        end
    endgenerate
endmodule
