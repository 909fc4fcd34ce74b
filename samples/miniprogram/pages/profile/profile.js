Page({
  data: { avatarUrl: '', nickname: '' },

  onChooseAvatar(e) {
    this.setData({ avatarUrl: e.detail.avatarUrl })
  },

  pickAddress: function () {
    wx.authorize({
      scope: 'scope.address',
      success() {
        wx.chooseAddress({})
      }
    })
  }
})
