// spec/lib/loopback.js: `node -r` this to make a server that listens on
// every interface (server-everything: app.listen(PORT)) listen on
// 127.0.0.1 only. A listen(port[, backlog][, cb]) without a host gets one.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  if ((typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) && typeof args[1] !== 'string')
    args.splice(1, 0, '127.0.0.1');
  else if (port && typeof port === 'object' && !port.path && port.host === undefined)
    args[0] = Object.assign({}, port, { host: '127.0.0.1' });
  return listen.apply(this, args);
};
