using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentLocator.Data.Infrastructure.Migrations
{
    /// <inheritdoc />
    public partial class LeadFollowUp : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "lead_status",
                table: "calls",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "new");

            migrationBuilder.AddColumn<string>(
                name: "owner_note",
                table: "calls",
                type: "character varying(4000)",
                maxLength: 4000,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "read_at",
                table: "calls",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "lead_status",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "owner_note",
                table: "calls");

            migrationBuilder.DropColumn(
                name: "read_at",
                table: "calls");
        }
    }
}
