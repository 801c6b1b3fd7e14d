using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentLocator.Data.Infrastructure.EntityConfigurations;

internal sealed class BusinessConfiguration : IEntityTypeConfiguration<Business>
{
    public void Configure(EntityTypeBuilder<Business> builder)
    {
        builder.ToTable("businesses");
        builder.Property(b => b.Name).IsRequired();
        builder.Property(b => b.TimeZone).IsRequired();
        builder.Property(b => b.AiEnabled).HasDefaultValue(true).HasSentinel(true);
        builder.Property(b => b.AiFallback).IsRequired().HasDefaultValue(AiFallbackModes.Intake);
        builder.HasIndex(b => b.WhatsAppNumber).IsUnique().HasFilter("whats_app_number IS NOT NULL AND deleted_at IS NULL");
        builder.HasMany(b => b.PhoneNumbers).WithOne().HasForeignKey(p => p.BusinessId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class BusinessPhoneNumberConfiguration : IEntityTypeConfiguration<BusinessPhoneNumber>
{
    public void Configure(EntityTypeBuilder<BusinessPhoneNumber> builder)
    {
        builder.ToTable("business_phone_numbers");
        builder.HasKey(p => p.Number);
        builder.HasIndex(p => p.BusinessId);
    }
}
