using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentLocator.Data.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class RealtimeEngine : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "transcribed_at",
                table: "recordings",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "transcript",
                table: "recordings",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "engine",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "engine_fallback_reason",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lead_callback_time",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lead_name",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lead_notes",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lead_reason",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "lead_saved_at",
                table: "calls",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "summary",
                table: "calls",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "ai_enabled",
                table: "businesses",
                type: "boolean",
                nullable: false,
                defaultValue: true);

            migrationBuilder.AddColumn<string>(
                name: "ai_fallback",
                table: "businesses",
                type: "text",
                nullable: false,
                defaultValue: "intake");

            migrationBuilder.AddColumn<string>(
                name: "assistant_instructions",
                table: "businesses",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "assistant_voice",
                table: "businesses",
                type: "text",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "transcript_turns",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    call_id = table.Column<Guid>(type: "uuid", nullable: false),
                    sequence = table.Column<int>(type: "integer", nullable: false),
                    speaker = table.Column<string>(type: "text", nullable: false),
                    text = table.Column<string>(type: "text", nullable: false),
                    item_id = table.Column<string>(type: "text", nullable: false),
                    interrupted = table.Column<bool>(type: "boolean", nullable: false),
                    heard_ms = table.Column<int>(type: "integer", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_transcript_turns", x => x.id);
                    table.ForeignKey(
                        name: "fk_transcript_turns_calls_call_id",
                        column: x => x.call_id,
                        principalTable: "calls",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_transcript_turns_call_id_item_id",
                table: "transcript_turns",
                columns: new[] { "call_id", "item_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_transcript_turns_call_id_sequence",
                table: "transcript_turns",
                columns: new[] { "call_id", "sequence" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "transcript_turns");

            migrationBuilder.DropColumn(
                name: "transcribed_at",
                table: "recordings");

            migrationBuilder.DropColumn(
                name: "transcript",
                table: "recordings");

            migrationBuilder.DropColumn(
                name: "engine",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "engine_fallback_reason",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "lead_callback_time",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "lead_name",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "lead_notes",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "lead_reason",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "lead_saved_at",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "summary",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "ai_enabled",
                table: "businesses");

            migrationBuilder.DropColumn(
                name: "ai_fallback",
                table: "businesses");

            migrationBuilder.DropColumn(
                name: "assistant_instructions",
                table: "businesses");

            migrationBuilder.DropColumn(
                name: "assistant_voice",
                table: "businesses");
        }
    }
}
