.class public Lcn/piscan/demo/DemoApplication;
.super Landroid/app/Application;
.source "DemoApplication.java"


# direct methods
.method public constructor <init>()V
    .registers 1

    invoke-direct {p0}, Landroid/app/Application;-><init>()V

    return-void
.end method


# virtual methods
.method public onCreate()V
    .registers 5

    invoke-super {p0}, Landroid/app/Application;->onCreate()V

    # IMEI read directly, before any consent screen exists
    const-string v0, "phone"

    invoke-virtual {p0, v0}, Lcn/piscan/demo/DemoApplication;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;

    move-result-object v0

    check-cast v0, Landroid/telephony/TelephonyManager;

    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;

    move-result-object v1

    # IMEI read again through a helper class (two-step reach path)
    invoke-static {p0}, Lcn/piscan/demo/DeviceHelper;->readImei(Landroid/content/Context;)Ljava/lang/String;

    move-result-object v2

    # ANDROID_ID
    invoke-virtual {p0}, Lcn/piscan/demo/DemoApplication;->getContentResolver()Landroid/content/ContentResolver;

    move-result-object v0

    const-string v3, "android_id"

    invoke-static {v0, v3}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;

    move-result-object v3

    # Umeng SDK initialisation reads the Wi-Fi MAC address
    invoke-static {p0}, Lcom/umeng/commonsdk/statistics/DeviceInfo;->getMac(Landroid/content/Context;)Ljava/lang/String;

    move-result-object v3

    # Build the cleartext statistics URL carrying the IMEI
    invoke-static {v1}, Lcn/piscan/demo/StatClient;->collectUrl(Ljava/lang/String;)Ljava/lang/String;

    move-result-object v0

    return-void
.end method
