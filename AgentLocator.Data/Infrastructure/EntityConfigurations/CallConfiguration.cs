using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentLocator.Data.Infrastructure.EntityConfigurations;

internal sealed class CallConfiguration : IEntityTypeConfiguration<Call>
{
    public void Configure(EntityTypeBuilder<Call> builder)
    {
        builder.ToTable("calls");
        builder.HasIndex(c => c.CallSid).IsUnique();
        builder.HasIndex(c => new { c.BusinessId, c.StartedAt });
        builder.HasIndex(c => c.CustomerId);
        builder.HasIndex(c => c.From);
        builder.Property(c => c.LeadStatus).HasMaxLength(16).HasDefaultValue(LeadStatuses.New);
        builder.Property(c => c.OwnerNote).HasMaxLength(4000);
        builder.HasOne<Business>().WithMany().HasForeignKey(c => c.BusinessId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Customer>().WithMany().HasForeignKey(c => c.CustomerId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class RecordingConfiguration : IEntityTypeConfiguration<Recording>
{
    public void Configure(EntityTypeBuilder<Recording> builder)
    {
        builder.ToTable("recordings");
        builder.HasIndex(r => r.RecordingSid).IsUnique().HasFilter("recording_sid IS NOT NULL");
        builder.HasIndex(r => r.CallId);
        builder.HasIndex(r => r.CustomerId);
        builder.HasOne<Call>().WithMany().HasForeignKey(r => r.CallId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Customer>().WithMany().HasForeignKey(r => r.CustomerId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class UtteranceConfiguration : IEntityTypeConfiguration<Utterance>
{
    public void Configure(EntityTypeBuilder<Utterance> builder)
    {
        builder.ToTable("utterances");
        builder.HasIndex(u => new { u.CallId, u.Sequence }).IsUnique();
        builder.HasIndex(u => u.CustomerId);
        builder.HasOne<Call>().WithMany().HasForeignKey(u => u.CallId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Customer>().WithMany().HasForeignKey(u => u.CustomerId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class TranscriptTurnConfiguration : IEntityTypeConfiguration<TranscriptTurn>
{
    public void Configure(EntityTypeBuilder<TranscriptTurn> builder)
    {
        builder.ToTable("transcript_turns");
        builder.Property(t => t.Speaker).IsRequired();
        builder.HasIndex(t => new { t.CallId, t.ItemId }).IsUnique();
        builder.HasIndex(t => new { t.CallId, t.Sequence });
        builder.HasOne<Call>().WithMany().HasForeignKey(t => t.CallId).OnDelete(DeleteBehavior.Restrict);
    }
}
