.class public Lcn/piscan/demo/BootReceiver;
.super Landroid/content/BroadcastReceiver;
.source "BootReceiver.java"


# direct methods
.method public constructor <init>()V
    .registers 1

    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V

    return-void
.end method


# virtual methods
.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 3

    # self-start on boot: the IMEI is read without the user opening the app
    invoke-static {p1}, Lcn/piscan/demo/DeviceHelper;->readImei(Landroid/content/Context;)Ljava/lang/String;

    return-void
.end method
